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
 *        takes over when the leader closes its latch.
 */
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

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

  public static void main(String[] args) throws Exception {
    String result = switch (args[1]) {
      case "basic" -> basic(args[0]);
      case "mutex" -> mutex(args[0]);
      case "latch" -> latch(args[0]);
      default -> throw new IllegalArgumentException("unknown scenario " + args[1]);
    };
    System.out.println(result);
    System.exit(0);
  }
}
