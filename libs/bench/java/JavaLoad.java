import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;

/**
 * `npm run bench -- --load java`: the bench's closed-loop load driven through
 * Apache ZooKeeper's own Java client (Debian's zookeeper.jar), so that Zooid
 * and ZooKeeper are also compared under the client most production traffic
 * comes from, not only under Zooid's. Same shape as libs/bench/src/load.ts:
 * every session keeps `inflight` getData/setData outstanding on /bench/k*,
 * and only requests that start and finish inside the measured interval count.
 * Prints one JSON line with load.ts's LoadResult fields.
 *
 * args: connectString sessions inflight keys valueBytes readPercent warmupMs measureMs
 */
public class JavaLoad {
  /** One session's slots share its event thread, so its counters need no locking. */
  static final class Session {
    final ZooKeeper zk;
    final SplittableRandom random;
    long[] latencies = new long[1 << 16];
    int count;
    long errors;

    Session(ZooKeeper zk, long seed) {
      this.zk = zk;
      this.random = new SplittableRandom(seed);
    }

    void record(long nanos) {
      if (count == latencies.length) latencies = Arrays.copyOf(latencies, count * 2);
      latencies[count++] = nanos;
    }
  }

  static int keys;
  static int readPercent;
  static byte[] value;
  static long measureFrom;
  static long end;
  static CountDownLatch slotsDone;

  public static void main(String[] args) throws Exception {
    String connect = args[0];
    int sessions = Integer.parseInt(args[1]);
    int inflight = Integer.parseInt(args[2]);
    keys = Integer.parseInt(args[3]);
    value = new byte[Integer.parseInt(args[4])];
    Arrays.fill(value, (byte) 'b');
    readPercent = Integer.parseInt(args[5]);
    long warmupMs = Long.parseLong(args[6]);
    long measureMs = Long.parseLong(args[7]);

    Session[] all = new Session[sessions];
    for (int i = 0; i < sessions; i++) {
      CountDownLatch connected = new CountDownLatch(1);
      ZooKeeper zk = new ZooKeeper(connect, 30_000, (e) -> {
        if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
      });
      if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("session " + i + " did not connect to " + connect);
      all[i] = new Session(zk, 12345L + i);
    }

    long start = System.nanoTime();
    measureFrom = start + TimeUnit.MILLISECONDS.toNanos(warmupMs);
    end = measureFrom + TimeUnit.MILLISECONDS.toNanos(measureMs);
    slotsDone = new CountDownLatch(sessions * inflight);
    for (Session s : all) for (int j = 0; j < inflight; j++) next(s);
    slotsDone.await();

    int total = 0;
    long errors = 0;
    for (Session s : all) {
      total += s.count;
      errors += s.errors;
    }
    long[] sorted = new long[total];
    int at = 0;
    for (Session s : all) {
      System.arraycopy(s.latencies, 0, sorted, at, s.count);
      at += s.count;
    }
    Arrays.sort(sorted);
    for (Session s : all) s.zk.close();
    double seconds = measureMs / 1000.0;
    System.out.println(String.format(java.util.Locale.ROOT,
        "{\"readPercent\":%d,\"ops\":%d,\"seconds\":%s,\"throughput\":%s,\"p50Ms\":%s,\"p99Ms\":%s,\"errors\":%d}",
        readPercent, total, seconds, total / seconds, percentileMs(sorted, 50), percentileMs(sorted, 99), errors));
  }

  /** Nearest rank, as load.ts computes it. */
  static double percentileMs(long[] sorted, int p) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] / 1e6;
  }

  /** Issues the slot's next request, or retires the slot once the interval is over. */
  static void next(Session s) {
    long t0 = System.nanoTime();
    if (t0 >= end) {
      slotsDone.countDown();
      return;
    }
    String path = "/bench/k" + s.random.nextInt(keys);
    if (s.random.nextInt(100) < readPercent) {
      s.zk.getData(path, false, (rc, p, ctx, data, stat) -> done(s, t0, rc), null);
    } else {
      s.zk.setData(path, value, -1, (rc, p, ctx, stat) -> done(s, t0, rc), null);
    }
  }

  static void done(Session s, long t0, int rc) {
    long t1 = System.nanoTime();
    if (rc != 0) s.errors++;
    else if (t0 >= measureFrom && t1 <= end) s.record(t1 - t0);
    next(s);
  }
}
