package dev.ociregistry.storage;

import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;

/**
 * How the bytes of a blob (or a range of it) reach the client; storage never sees HTTP. {@code
 * offset}/{@code length} describe the range served, {@code total} the whole blob.
 */
public sealed interface BlobBody {

  /** A local file, already open: served zero-copy; the receiver closes the channel. */
  record LocalFile(FileChannel channel, long offset, long length, long total) implements BlobBody {}

  /** A stream already positioned at {@code offset}; the receiver closes it. */
  record Stream(InputStream stream, long offset, long length, long total) implements BlobBody {}

  /** The client should fetch the blob from this URL. */
  record Redirect(URI location) implements BlobBody {}
}
