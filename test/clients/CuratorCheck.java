/*
 * Apache Curator (Debian's libcurator-*-java 5.4) against a ZooKeeper
 * server, run as a single-file program: `java -cp … CuratorCheck.java
 * <connectString> <scenario>`. TLS comes from the zookeeper.* system
 * properties, as for any ZooKeeper Java client. Prints one JSON object as
 * its last line; exits non-zero on any failure.
 *
 * basic: create, get, set, children, delete through the framework;
 * mutex: an InterProcessMutex held by one client is not to be had by another
 *        until released;
 * latch: of two LeaderLatch participants exactly one leads, and the other
 *        takes over when the leader closes its latch;
 * reconfig <super password> <voter id> <server spec>: as the super user,
 *        getConfig, then reconfig removing the voter, a stale fromConfig
 *        (BadVersion), and reconfig adding it back with the spec, on one
 *        client whose EnsembleTracker (on by default) follows
 *        /zookeeper/config; then it prints PAUSE and waits for a line on
 *        stdin while the test drops its connection (restarts its gateway),
 *        and must reconnect through the connect string the tracker left it.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;

public class CuratorCheck {
  static CuratorFramework client(String connect) throws Exception {
    CuratorFramework c = CuratorFrameworkFactory.newClient(connect, 10_000, 10_000, new ExponentialBackoffRetry(100, 5));
    c.start();
    if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("not connected within 20 s");
    return c;
  }

  static String basic(String connect) throws Exception {
    try (CuratorFramework c = client(connect)) {
      c.create().creatingParentsIfNeeded().forPath("/curator/basic/a", "one".getBytes(StandardCharsets.UTF_8));
      c.setData().forPath("/curator/basic/a", "two".getBytes(StandardCharsets.UTF_8));
      String data = new String(c.getData().forPath("/curator/basic/a"), StandardCharsets.UTF_8);
      List<String> children = c.getChildren().forPath("/curator/basic");
      c.delete().deletingChildrenIfNeeded().forPath("/curator/basic");
      boolean gone = c.checkExists().forPath("/curator/basic") == null;
      return "{\"data\":\"" + data + "\",\"children\":\"" + String.join(",", children) + "\",\"gone\":" + gone + "}";
    }
  }

  static String mutex(String connect) throws Exception {
    try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
      InterProcessMutex ma = new InterProcessMutex(a, "/curator/mutex");
      InterProcessMutex mb = new InterProcessMutex(b, "/curator/mutex");
      boolean aGot = ma.acquire(10, TimeUnit.SECONDS);
      boolean bWhileHeld = mb.acquire(300, TimeUnit.MILLISECONDS);
      ma.release();
      boolean bAfter = mb.acquire(10, TimeUnit.SECONDS);
      mb.release();
      return "{\"aGot\":" + aGot + ",\"bWhileHeld\":" + bWhileHeld + ",\"bAfter\":" + bAfter + "}";
    }
  }

  static String latch(String connect) throws Exception {
    try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
      LeaderLatch la = new LeaderLatch(a, "/curator/latch", "a");
      LeaderLatch lb = new LeaderLatch(b, "/curator/latch", "b");
      la.start();
      lb.start();
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!(la.hasLeadership() || lb.hasLeadership())) {
        if (System.nanoTime() > until) throw new IllegalStateException("no leader within 20 s");
        Thread.sleep(20);
      }
      boolean both = la.hasLeadership() && lb.hasLeadership();
      LeaderLatch leader = la.hasLeadership() ? la : lb;
      LeaderLatch other = leader == la ? lb : la;
      leader.close();
      boolean tookOver = other.await(20, TimeUnit.SECONDS);
      other.close();
      return "{\"oneLeader\":" + !both + ",\"tookOver\":" + tookOver + "}";
    }
  }

  /** The `version=` of a /zookeeper/config text. */
  static long version(String config) {
    return Long.parseLong(config.substring(config.lastIndexOf("version=") + "version=".length()).trim(), 16);
  }

  static String json(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  static String reconfig(String connect, String password, String voter, String spec) throws Exception {
    CuratorFramework c = CuratorFrameworkFactory.builder()
        .connectString(connect)
        .sessionTimeoutMs(10_000)
        .connectionTimeoutMs(10_000)
        .retryPolicy(new ExponentialBackoffRetry(100, 5))
        .authorization("digest", ("super:" + password).getBytes(StandardCharsets.UTF_8))
        .build();
    c.start();
    try (c) {
      if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("not connected within 20 s");
      String start = new String(c.getConfig().forEnsemble(), StandardCharsets.UTF_8);
      String removed = new String(c.reconfig().leaving(voter).fromConfig(version(start)).forEnsemble(), StandardCharsets.UTF_8);
      boolean staleRefused = false;
      try {
        c.reconfig().joining(spec).fromConfig(version(start)).forEnsemble();
      } catch (KeeperException.BadVersionException e) {
        staleRefused = true;
      }
      String added = new String(c.reconfig().joining(spec).fromConfig(version(removed)).forEnsemble(), StandardCharsets.UTF_8);
      // A configuration none of whose lines has a client address the tracker ignores; this one it takes.
      awaitTracker(c, version(added));
      System.out.println("PAUSE");
      System.out.flush();
      new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      c.create().creatingParentsIfNeeded().forPath("/curator/reconfig/after", "ok".getBytes(StandardCharsets.UTF_8));
      String after = new String(c.getData().forPath("/curator/reconfig/after"), StandardCharsets.UTF_8);
      c.delete().deletingChildrenIfNeeded().forPath("/curator/reconfig");
      return "{\"start\":" + json(start) + ",\"removed\":" + json(removed) + ",\"staleRefused\":" + staleRefused
          + ",\"added\":" + json(added) + ",\"tracked\":" + json(c.getZookeeperClient().getCurrentConnectionString()) + ",\"after\":" + json(after) + "}";
    }
  }

  /** Until the EnsembleTracker has read the configuration at `version` (it reads on its watch, in the background). */
  static void awaitTracker(CuratorFramework c, long version) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (c.getCurrentConfig().getVersion() != version) {
      if (System.nanoTime() > until) throw new IllegalStateException("the EnsembleTracker did not read configuration " + Long.toHexString(version) + " within 20 s");
      Thread.sleep(20);
    }
  }

  public static void main(String[] args) throws Exception {
    String result = switch (args[1]) {
      case "basic" -> basic(args[0]);
      case "mutex" -> mutex(args[0]);
      case "latch" -> latch(args[0]);
      case "reconfig" -> reconfig(args[0], args[2], args[3], args[4]);
      default -> throw new IllegalArgumentException("unknown scenario " + args[1]);
    };
    System.out.println(result);
    System.exit(0);
  }
}
