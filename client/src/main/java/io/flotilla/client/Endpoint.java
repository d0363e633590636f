package io.flotilla.client;

/**
 * A node's client address. The host is a name, resolved at every (re)connect, never cached as an
 * IP, so a node that moves keeps its name.
 */
public record Endpoint(String host, int port) {
  public Endpoint {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("empty host");
    }
    if (port <= 0 || port > 65535) {
      throw new IllegalArgumentException("bad port " + port);
    }
  }

  /** Parses {@code host:port} (IPv6 as {@code [::1]:port}). */
  public static Endpoint parse(String s) {
    String t = s.trim();
    int colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.length() - 1) {
      throw new IllegalArgumentException("expected host:port, got '" + s + "'");
    }
    String host = t.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      return new Endpoint(host, Integer.parseInt(t.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port in '" + s + "'", e);
    }
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
