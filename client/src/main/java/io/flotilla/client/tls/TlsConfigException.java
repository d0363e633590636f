package io.flotilla.client.tls;

/**
 * TLS material that cannot be used: a missing or unreadable file, a key that does not parse, a
 * certificate that names no Flotilla identity. The message says what to fix; callers at start-up
 * print it and exit, the reloader keeps the previous material and reports it.
 */
public final class TlsConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TlsConfigException(String message) {
    super(message);
  }

  public TlsConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
