package io.flotilla.server.admin;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The node's recent events for the dashboard (elections, leaders, snapshots and membership changes
 * of the system range; splits, leader moves and snapshots of every other range this node holds): a bounded ring in memory, the oldest dropped first, never
 * persisted. {@link #record} is called from the Raft loop and must stay cheap: one short lock,
 * one small object. Served as JSON by {@code GET /events}.
 */
public final class EventRing {
  /** One event. {@code seq} counts from 1 on this node since it started; {@code at} is wall-clock ms. */
  public record Event(long seq, long at, long node, String kind, String text) {}

  /** What the dashboard knows how to show; strings on the wire ({@code kind}). */
  public static final String ELECTION = "election";
  public static final String LEADER = "leader";
  public static final String SNAPSHOT = "snapshot";
  public static final String MEMBERSHIP = "membership";
  public static final String NODE = "node";
  public static final String SPLIT = "split";

  private final long node;
  private final int capacity;
  private final ArrayDeque<Event> events;
  private long seq;

  public EventRing(long node, int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive");
    }
    this.node = node;
    this.capacity = capacity;
    this.events = new ArrayDeque<>(capacity);
  }

  public synchronized void record(String kind, String text) {
    if (events.size() == capacity) {
      events.pollFirst();
    }
    events.addLast(new Event(++seq, System.currentTimeMillis(), node, kind, text));
  }

  /** The events after {@code seq}, oldest first, at most the last {@code limit}. */
  public synchronized List<Event> since(long seq, int limit) {
    List<Event> out = new ArrayList<>();
    for (Event e : events) {
      if (e.seq() > seq) {
        out.add(e);
      }
    }
    return out.size() <= limit ? out : new ArrayList<>(out.subList(out.size() - limit, out.size()));
  }

  public int capacity() {
    return capacity;
  }
}
