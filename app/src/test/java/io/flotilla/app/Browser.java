package io.flotilla.app;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;

/**
 * A real headless browser for the tests: Debian's chromium, driven by Debian's chromium-driver
 * through Selenium. Both are installed by {@code .ci/run} when missing; nothing is downloaded at
 * run time (both paths are given, so Selenium Manager is never asked). Each browser gets a fresh
 * profile directory. Screenshots go to {@code target/screenshots/}.
 */
final class Browser implements AutoCloseable {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Path SCREENSHOTS = Path.of("target", "screenshots");

  final ChromeDriver driver;

  private Browser(ChromeDriver driver) {
    this.driver = driver;
  }

  /** A browser with a window of {@code width} x {@code height}, profile under {@code dir}. */
  static Browser open(Path dir, int width, int height) throws IOException {
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
      throw new IllegalStateException("the browser tests need Debian's chromium and chromium-driver"
          + " (" + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install -y chromium chromium-driver"
          + " (.ci/run installs them when missing)");
    }
    // Never let Selenium Manager look for (or fetch) a driver or a browser: both are given.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions o = new ChromeOptions();
    o.setBinary(CHROMIUM.toFile());
    Path profile = Files.createTempDirectory(dir, "chromium-profile");
    // As root in a container: no sandbox; and no background traffic (this machine's network is
    // closed, and a test must not depend on anything but the pages it opens).
    o.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=" + width + "," + height);
    o.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    ChromeDriver d = new ChromeDriver(service, o);
    d.manage().window().setSize(new Dimension(width, height));
    d.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
    return new Browser(d);
  }

  void resize(int width, int height) {
    driver.manage().window().setSize(new Dimension(width, height));
  }

  /** Saves what the window shows as target/screenshots/NAME.png; returns the file. */
  Path screenshot(String name) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    File f = driver.getScreenshotAs(OutputType.FILE);
    Path to = SCREENSHOTS.resolve(name + ".png");
    Files.copy(f.toPath(), to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return to;
  }

  /** The page's console messages at SEVERE (errors, failed loads) since the last call. */
  List<String> consoleErrors() {
    return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).map(LogEntry::toString).toList();
  }

  Object js(String script, Object... args) {
    return driver.executeScript(script, args);
  }

  @Override
  public void close() {
    driver.quit();
  }
}
