package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import java.util.HashSet;
import java.util.Set;

/**
 * A set of digests for a collection's marks, compact enough for stores of millions of manifests: a
 * SHA-256 digest is kept as its 32 bytes in open-addressing tables of longs (about 50 bytes an
 * entry, where a {@code Set<Digest>} takes about 170), others (SHA-512, rare) in a plain set.
 * Thread-safe: the tables are striped, each guarded by its own lock.
 */
final class DigestSet {
  private static final int STRIPES = 64; // a power of two
  private final Stripe[] stripes = new Stripe[STRIPES];
  private final Set<Digest> others = new HashSet<>();

  DigestSet() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe();
    }
  }

  /** Adds {@code digest}; true if it was not there. */
  boolean add(Digest digest) {
    if (digest.algorithm() != Digest.Algorithm.SHA256) {
      synchronized (others) {
        return others.add(digest);
      }
    }
    long a = word(digest.hex(), 0);
    long b = word(digest.hex(), 1);
    long c = word(digest.hex(), 2);
    long d = word(digest.hex(), 3);
    Stripe stripe = stripes[(int) (a >>> 58) & (STRIPES - 1)];
    synchronized (stripe) {
      return stripe.add(a, b, c, d);
    }
  }

  void addAll(Iterable<Digest> digests) {
    for (Digest digest : digests) {
      add(digest);
    }
  }

  boolean contains(Digest digest) {
    if (digest.algorithm() != Digest.Algorithm.SHA256) {
      synchronized (others) {
        return others.contains(digest);
      }
    }
    long a = word(digest.hex(), 0);
    Stripe stripe = stripes[(int) (a >>> 58) & (STRIPES - 1)];
    long b = word(digest.hex(), 1);
    long c = word(digest.hex(), 2);
    long d = word(digest.hex(), 3);
    synchronized (stripe) {
      return stripe.contains(a, b, c, d);
    }
  }

  long size() {
    long size;
    synchronized (others) {
      size = others.size();
    }
    for (Stripe stripe : stripes) {
      synchronized (stripe) {
        size += stripe.size + (stripe.zero ? 1 : 0);
      }
    }
    return size;
  }

  /** The {@code i}th 64 bits of a hex string (validated by {@link Digest}: lower-case hex). */
  private static long word(String hex, int i) {
    long value = 0;
    for (int k = i * 16, end = k + 16; k < end; k++) {
      char ch = hex.charAt(k);
      value = (value << 4) | (ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    return value;
  }

  /**
   * Linear probing over 4 longs a slot. An all-zero digest marks an empty slot, so the one digest
   * whose bytes are all zero is kept aside.
   */
  private static final class Stripe {
    private long[] slots = new long[4 * 64];
    private int size;
    private boolean zero;

    boolean add(long a, long b, long c, long d) {
      if ((a | b | c | d) == 0) {
        boolean added = !zero;
        zero = true;
        return added;
      }
      if ((size + 1) * 4L > (slots.length / 4) * 3L) { // load factor 0.75
        grow();
      }
      if (insert(slots, a, b, c, d)) {
        size++;
        return true;
      }
      return false;
    }

    boolean contains(long a, long b, long c, long d) {
      if ((a | b | c | d) == 0) {
        return zero;
      }
      int capacity = slots.length / 4;
      for (int i = index(b, capacity); ; i = (i + 1) & (capacity - 1)) {
        int at = i * 4;
        if ((slots[at] | slots[at + 1] | slots[at + 2] | slots[at + 3]) == 0) {
          return false;
        }
        if (slots[at] == a && slots[at + 1] == b && slots[at + 2] == c && slots[at + 3] == d) {
          return true;
        }
      }
    }

    private static boolean insert(long[] table, long a, long b, long c, long d) {
      int capacity = table.length / 4;
      for (int i = index(b, capacity); ; i = (i + 1) & (capacity - 1)) {
        int at = i * 4;
        if ((table[at] | table[at + 1] | table[at + 2] | table[at + 3]) == 0) {
          table[at] = a;
          table[at + 1] = b;
          table[at + 2] = c;
          table[at + 3] = d;
          return true;
        }
        if (table[at] == a && table[at + 1] == b && table[at + 2] == c && table[at + 3] == d) {
          return false;
        }
      }
    }

    private void grow() {
      long[] bigger = new long[slots.length * 2];
      for (int at = 0; at < slots.length; at += 4) {
        if ((slots[at] | slots[at + 1] | slots[at + 2] | slots[at + 3]) != 0) {
          insert(bigger, slots[at], slots[at + 1], slots[at + 2], slots[at + 3]);
        }
      }
      slots = bigger;
    }

    /** Digests are uniformly distributed: their second word is a good enough hash. */
    private static int index(long b, int capacity) {
      return (int) (b ^ (b >>> 32)) & (capacity - 1);
    }
  }
}
