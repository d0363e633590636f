package io.flotilla.server.net;

import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import java.util.concurrent.CompletableFuture;

/**
 * What the client port hands each decoded request to. Called on a Netty event-loop thread, so it
 * must not block: it starts the work and returns a future. The response's request id is set by the
 * port; the handler need not copy it.
 */
@FunctionalInterface
public interface RequestHandler {
  CompletableFuture<Response> handle(Request request);
}
