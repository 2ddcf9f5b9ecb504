package dev.ociregistry.storage.driver.s3;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * S3 requests sent side by side, a bounded number at once: S3 answers each request in tens of
 * milliseconds however many run, so a batch of them takes as long as its slowest few, not their
 * sum. Virtual threads, since each one only waits for its HTTP answer.
 */
final class Parallel {
  /** Requests one {@link #map} has in flight at once (a crowded sibling range nests one more). */
  static final int REQUESTS = 8;

  private Parallel() {}

  @FunctionalInterface
  interface Request<T, R> {
    R send(T item) throws IOException;
  }

  /**
   * {@code request} of every item, in the items' order. Waits for all of them; the first failure is
   * thrown with the others suppressed, so no failure goes unreported.
   */
  static <T, R> List<R> map(List<T> items, Request<T, R> request) throws IOException {
    if (items.size() == 1) { // no thread for one request
      List<R> result = new ArrayList<>(1);
      result.add(request.send(items.get(0)));
      return result;
    }
    Semaphore permits = new Semaphore(REQUESTS);
    List<Future<R>> futures = new ArrayList<>(items.size());
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      for (T item : items) {
        futures.add(
            executor.submit(
                () -> {
                  permits.acquire();
                  try {
                    return request.send(item);
                  } finally {
                    permits.release();
                  }
                }));
      }
      List<R> results = new ArrayList<>(items.size());
      IOException failure = null;
      for (Future<R> future : futures) {
        try {
          results.add(future.get());
        } catch (ExecutionException e) {
          IOException io =
              e.getCause() instanceof IOException cause
                  ? cause
                  : new IOException("S3 request failed", e.getCause());
          if (failure == null) {
            failure = io;
          } else {
            failure.addSuppressed(io);
          }
        } catch (InterruptedException e) {
          // Before the executor's close waits for them: requests of an abandoned call stop.
          futures.forEach(f -> f.cancel(true));
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for S3");
        }
      }
      if (failure != null) {
        throw failure;
      }
      return results;
    }
  }
}
