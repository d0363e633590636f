package io.flotilla.server.net;

import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;

/** A socket that speaks the frame format by hand, so tests can also speak it badly. */
public final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final OutputStream out;
  private final DataInputStream in;

  public RawClient(InetSocketAddress address) throws IOException {
    socket = new Socket(address.getAddress(), address.getPort());
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    out = socket.getOutputStream();
    in = new DataInputStream(socket.getInputStream());
  }

  public void send(Request r) throws IOException {
    byte[] body = r.toByteArray();
    sendRaw(ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array());
  }

  public void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  public Response read() throws IOException {
    int len = in.readInt();
    byte[] body = new byte[len];
    in.readFully(body);
    return Response.parseFrom(body);
  }

  /**
   * The next response, or null when the connection is closed or reset first, or nothing comes
   * within half a second (a connection the server still holds open).
   */
  public Response readOrNull() throws IOException {
    int before = socket.getSoTimeout();
    socket.setSoTimeout(500);
    try {
      return read();
    } catch (EOFException | java.net.SocketException | java.net.SocketTimeoutException e) {
      return null;
    } finally {
      if (!socket.isClosed()) {
        socket.setSoTimeout(before);
      }
    }
  }

  /** True when the server closed the connection (reads hit end of stream). */
  public boolean closedByServer() throws IOException {
    try {
      return in.read() < 0;
    } catch (EOFException e) {
      return true;
    } catch (java.net.SocketException e) {
      return true; // reset by peer: closed as well
    }
  }

  /**
   * True when the server closed the connection, after discarding whatever it sent first (the
   * peer port answers any input with empty "pong" frames before it decides to close).
   */
  public boolean closedByServerDiscardingInput() throws IOException {
    try {
      while (in.read() >= 0) {
        // discard
      }
      return true;
    } catch (java.net.SocketException e) {
      return true; // reset by peer: closed as well
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
