package io.flotilla.app;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * On a failure, puts the one command that reruns the test class, and where its screenshots are,
 * into the failure's message: Surefire sends a test's own output to a file
 * ({@code redirectTestOutputToFile}), but prints every failure's message on the console, so the
 * command shows in CI's log next to the failure.
 */
final class RerunHint implements TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {
  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable cause) throws Throwable {
    throw withHint(context, cause);
  }

  @Override
  public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable cause) throws Throwable {
    throw withHint(context, cause);
  }

  @Override
  public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable cause) throws Throwable {
    throw withHint(context, cause);
  }

  static String hint(String testClass) {
    return "rerun with: ./mvnw -o -B -pl app -am verify -Dtest=" + testClass
        + " -Dsurefire.failIfNoSpecifiedTests=false (screenshots so far: app/target/screenshots/;"
        + " the browser tests need /usr/bin/chromium and /usr/bin/chromedriver)";
  }

  private static Throwable withHint(ExtensionContext context, Throwable cause) {
    String hint = hint(context.getRequiredTestClass().getSimpleName());
    System.err.println(hint);
    AssertionError e = new AssertionError(cause + "\n" + hint, cause);
    e.setStackTrace(new StackTraceElement[0]); // the cause carries the trace
    return e;
  }
}
