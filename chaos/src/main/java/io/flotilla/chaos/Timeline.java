package io.flotilla.chaos;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.Layer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** {@code timeline.png}: throughput and latency per second, fault windows shaded by kind. */
final class Timeline {
  private static final Map<String, Color> COLORS = Map.of(
      "kill", new Color(255, 140, 0, 60),
      "kill-leader", new Color(220, 20, 60, 60),
      "pause", new Color(65, 105, 225, 60),
      "partition", new Color(138, 43, 226, 60),
      "restart-all", new Color(128, 128, 128, 90),
      "disk", new Color(34, 139, 34, 70),
      "stall", new Color(210, 180, 0, 70),
      "split", new Color(0, 170, 200, 90));

  private Timeline() {}

  static void write(Path png, String title, Availability a, List<FaultWindow> faults)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYSeries ops = new XYSeries("acknowledged ops/s");
    XYSeries writes = new XYSeries("acknowledged writes/s");
    XYSeries p99 = new XYSeries("p99 latency (ms)");
    XYSeries mean = new XYSeries("mean latency (ms)");
    for (Availability.Second s : a.seconds) {
      ops.add(s.second(), s.okOps());
      writes.add(s.second(), s.okWrites());
      if (s.okOps() > 0) {
        p99.add(s.second(), Math.max(0.1, s.p99LatencyMs()));
        mean.add(s.second(), Math.max(0.1, s.meanLatencyMs()));
      }
    }
    XYPlot plot = new XYPlot();
    NumberAxis time = new NumberAxis("seconds into the run (shaded: faults, by kind)");
    plot.setDomainAxis(time);
    NumberAxis rate = new NumberAxis("operations per second");
    plot.setRangeAxis(0, rate);
    XYSeriesCollection rates = new XYSeriesCollection();
    rates.addSeries(ops);
    rates.addSeries(writes);
    plot.setDataset(0, rates);
    XYLineAndShapeRenderer r0 = new XYLineAndShapeRenderer(true, false);
    r0.setSeriesPaint(0, new Color(0, 90, 160));
    r0.setSeriesPaint(1, new Color(0, 160, 120));
    plot.setRenderer(0, r0);
    LogarithmicAxis latency = new LogarithmicAxis("latency, ms (log)");
    latency.setAllowNegativesFlag(false);
    plot.setRangeAxis(1, latency);
    XYSeriesCollection lat = new XYSeriesCollection();
    lat.addSeries(p99);
    lat.addSeries(mean);
    plot.setDataset(1, lat);
    plot.mapDatasetToRangeAxis(1, 1);
    XYLineAndShapeRenderer r1 = new XYLineAndShapeRenderer(true, false);
    r1.setSeriesPaint(0, new Color(200, 30, 30));
    r1.setSeriesPaint(1, new Color(240, 150, 150));
    r1.setSeriesStroke(0, new BasicStroke(1.0f));
    plot.setRenderer(1, r1);
    for (FaultWindow f : faults) {
      IntervalMarker m = new IntervalMarker(f.start() / 1e9, Math.max(f.end(), f.start() + 200_000_000L) / 1e9);
      // at least 0.2 s wide, so that a split (one request) shows
      m.setPaint(COLORS.getOrDefault(f.kind(), new Color(0, 0, 0, 40)));
      if (faults.size() <= 40) {
        m.setLabel(f.kind());
      }
      plot.addDomainMarker(m, Layer.BACKGROUND);
    }
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    int width = Math.max(1200, Math.min(6000, a.seconds.size() * 3));
    ChartUtils.saveChartAsPNG(png.toFile(), chart, width, 600);
  }
}
