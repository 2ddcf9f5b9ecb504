package dev.ociregistry.http;

/** Header names of the distribution API. */
public final class Headers {
  public static final String API_VERSION = "Docker-Distribution-API-Version";
  public static final String CONTENT_DIGEST = "Docker-Content-Digest";
  public static final String UPLOAD_UUID = "Docker-Upload-UUID";
  public static final String OCI_SUBJECT = "OCI-Subject";
  public static final String OCI_FILTERS_APPLIED = "OCI-Filters-Applied";

  private Headers() {}
}
