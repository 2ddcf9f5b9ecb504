package dev.ociregistry.http.handlers;

import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import io.netty.handler.codec.http.QueryStringEncoder;
import java.util.List;

/** {@code n}/{@code last} pagination with a {@code Link} header, for tags and the catalog. */
final class Pagination {
  private Pagination() {}

  /** A page of a sorted list: entries after {@code last}, at most {@code n}. */
  record Page(List<String> entries, boolean more) {}

  static Page page(Request request, List<String> sorted, int defaultSize) {
    int n = request.intQuery("n", defaultSize);
    String last = request.query("last");
    int from = 0;
    if (last != null && !last.isEmpty()) {
      int pos = java.util.Collections.binarySearch(sorted, last);
      from = pos >= 0 ? pos + 1 : -pos - 1;
    }
    int to = (int) Math.min(sorted.size(), (long) from + n);
    return new Page(sorted.subList(from, to), to < sorted.size());
  }

  /** Adds {@code Link: <path?n=..&last=..>; rel="next"} when there are more entries. */
  static void link(Response response, Request request, Page page) {
    if (!page.more() || page.entries().isEmpty()) {
      return;
    }
    var next = new QueryStringEncoder(request.path());
    next.addParam("n", String.valueOf(page.entries().size()));
    next.addParam("last", page.entries().get(page.entries().size() - 1));
    response.header("Link", "<" + next + ">; rel=\"next\"");
  }
}
