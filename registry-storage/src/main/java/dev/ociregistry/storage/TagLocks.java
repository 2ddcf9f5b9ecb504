package dev.ociregistry.storage;

import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import java.io.IOException;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Makes the check and the write of an immutable tag one step within this process. Writes of one tag
 * exclude each other (a tag lock); deletes of a manifest by digest exclude every immutable-tag
 * write in the repository (the repository's write lock, which tag writes hold for reading), so that
 * a tag cannot be set on a manifest whose delete has already checked its tags. Locks are striped by
 * hash: two names sharing a stripe only wait for each other, and memory stays fixed.
 *
 * <p>Lock order is repository, then tag, and nothing is taken while a tag lock is held, so there is
 * no cycle. These are in-process locks: instances sharing a bucket do not see them (see {@code
 * docs/architecture.md}, "Immutable tags").
 */
final class TagLocks {
  private static final int STRIPES = 64;

  private final ReadWriteLock[] repositories = new ReadWriteLock[STRIPES];
  private final Lock[] tags = new Lock[STRIPES];

  TagLocks() {
    for (int i = 0; i < STRIPES; i++) {
      repositories[i] = new ReentrantReadWriteLock();
      tags[i] = new ReentrantLock();
    }
  }

  interface Locked<T> {
    T run() throws IOException;
  }

  /** Runs the check and write of {@code tag} alone among writes of that tag and digest deletes. */
  <T> T writingTag(RepositoryName repository, Tag tag, Locked<T> action) throws IOException {
    Lock shared = repositories[stripe(repository.value())].readLock();
    Lock own = tags[stripe(repository.value() + ":" + tag.value())];
    shared.lock();
    try {
      own.lock();
      try {
        return action.run();
      } finally {
        own.unlock();
      }
    } finally {
      shared.unlock();
    }
  }

  /** Runs a manifest delete alone among the repository's immutable-tag writes. */
  <T> T deletingManifest(RepositoryName repository, Locked<T> action) throws IOException {
    Lock exclusive = repositories[stripe(repository.value())].writeLock();
    exclusive.lock();
    try {
      return action.run();
    } finally {
      exclusive.unlock();
    }
  }

  private static int stripe(String key) {
    return Math.floorMod(key.hashCode(), STRIPES);
  }
}
