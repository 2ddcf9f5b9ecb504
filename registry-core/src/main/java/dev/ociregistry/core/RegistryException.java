package dev.ociregistry.core;

/**
 * An error a client caused or should be told about, rendered as an OCI error body. Anything that is
 * not a {@code RegistryException} is an internal error.
 */
public final class RegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final int status;

  /** Rendered into the error body; never serialized (these exceptions do not leave the process). */
  private final transient Object detail;

  public RegistryException(ErrorCode code, String message, Object detail) {
    this(code, code.status(), message, detail);
  }

  public RegistryException(ErrorCode code, int status, String message, Object detail) {
    super(message == null ? code.defaultMessage() : message, null, false, false);
    this.code = code;
    this.status = status;
    this.detail = detail;
  }

  public ErrorCode code() {
    return code;
  }

  /** The HTTP status; usually {@link ErrorCode#status()}, occasionally more specific (413). */
  public int status() {
    return status;
  }

  public Object detail() {
    return detail;
  }
}
