package dev.ociregistry.storage;

import dev.ociregistry.core.ErrorCode;
import java.util.UUID;
import java.util.regex.Pattern;

/** The id of an upload session: a random UUID, validated before it becomes part of a path. */
public record UploadId(String value) {
  private static final Pattern UUID_FORM =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  public UploadId {
    if (value == null || !UUID_FORM.matcher(value).matches()) {
      throw ErrorCode.BLOB_UPLOAD_UNKNOWN.exception("invalid upload id");
    }
  }

  public static UploadId random() {
    return new UploadId(UUID.randomUUID().toString());
  }

  public static UploadId parse(String s) {
    return new UploadId(s);
  }

  @Override
  public String toString() {
    return value;
  }
}
