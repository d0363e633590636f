package io.flotilla.server.local;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hands behind the dashboard's kill and restart buttons, in the process of a local-cluster
 * tool ({@code bin/flotilla local}, {@code demo}) that holds the node processes. Listens on
 * loopback only, under a random path made for this run; each node of the cluster is given that
 * address ({@code --local-control}) and forwards its dashboard's {@code POST /control/...} here.
 * Kills with SIGKILL ({@link LocalCluster#kill}) and restarts on the same data directory.
 *
 * <pre>
 *   POST /SECRET/kill?node=N      200 "node N killed (kill -9)"
 *   POST /SECRET/restart?node=N   202 "node N starting"; 409 while it still runs
 * </pre>
 */
final class LocalControlServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalControlServer.class);

  private final HttpServer http;
  private final String secret;

  private LocalControlServer(LocalCluster cluster) throws IOException {
    byte[] b = new byte[16];
    new SecureRandom().nextBytes(b);
    this.secret = HexFormat.of().formatHex(b);
    this.http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    http.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "local-control");
      t.setDaemon(true);
      return t;
    }));
    http.createContext("/" + secret + "/", x -> handle(cluster, x));
    http.start();
  }

  static LocalControlServer start(LocalCluster cluster) throws IOException {
    return new LocalControlServer(cluster);
  }

  /** What nodes forward to: {@code http://127.0.0.1:PORT/SECRET}. */
  URI url() {
    return URI.create("http://" + http.getAddress().getHostString() + ":" + http.getAddress().getPort() + "/" + secret);
  }

  private void handle(LocalCluster cluster, HttpExchange x) throws IOException {
    String action = x.getRequestURI().getPath().substring(secret.length() + 2);
    String query = x.getRequestURI().getQuery() == null ? "" : x.getRequestURI().getQuery();
    int node;
    try {
      node = Integer.parseInt(query.replaceFirst("^node=", ""));
    } catch (NumberFormatException e) {
      node = -1;
    }
    if (!x.getRequestMethod().equals("POST")) {
      reply(x, 405, "POST only");
    } else if (node < 1 || node > cluster.nodes()) {
      reply(x, 400, "node=1.." + cluster.nodes());
    } else if (action.equals("kill")) {
      try {
        cluster.kill(node);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("node {} killed (kill -9) from the dashboard", node);
      reply(x, 200, "node " + node + " killed (kill -9)");
    } else if (action.equals("restart")) {
      if (cluster.alive(node)) {
        reply(x, 409, "node " + node + " is running");
        return;
      }
      cluster.start(node);
      LOG.warn("node {} restarted from the dashboard", node);
      reply(x, 202, "node " + node + " starting");
    } else {
      reply(x, 404, "kill or restart");
    }
  }

  private static void reply(HttpExchange x, int status, String text) throws IOException {
    byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    x.sendResponseHeaders(status, b.length);
    x.getResponseBody().write(b);
    x.close();
  }

  @Override
  public void close() {
    http.stop(0);
  }
}
