package io.flotilla.wal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The log's only writer. It takes everything queued since its last round, writes the records of
 * every group in one buffer ({@link RecordWriter}), forces once if anyone waits for durability,
 * and only then completes their futures. Truncations, compactions and close are queued too, so
 * they happen in order with the writes around them (their cuts are {@link WalTruncation}'s).
 *
 * <p>A write need not be forced at once: a group's {@code write} (Raft's Ready, written by
 * {@code RaftScheduler} for every replica before one force) stays in {@link #unforced} until the
 * next force, which {@link Wal#sync()}, an append that waits, or a truncation brings. One force
 * covers every group's records written before it: that is the point of one log per node.
 */
final class WalWriter implements Runnable {

  /** Work for the writer, in queue order. */
  sealed interface Op permits Write, Exclusive, Sync, Close {
    CompletableFuture<?> future();
  }

  /**
   * Entries and/or a hard state of one group. {@code force}: someone waits for it to be durable,
   * so the round that writes it forces. The future completes with the last entry's index (0 when
   * none) once a force covered it.
   */
  record Write(GroupState group, WalEntry[] entries, WalHardState hardState, boolean force,
      long seq, CompletableFuture<Long> future) implements Op {
    long lastIndex() {
      return entries.length == 0 ? 0 : entries[entries.length - 1].index();
    }
  }

  /** What an {@link Exclusive} op does. */
  enum Kind { TRUNCATE_SUFFIX, TRUNCATE_PREFIX, RESET, REMOVE }

  /** A change of one group's log that its caller waits for, made after everything before it. */
  record Exclusive(Kind kind, GroupState group, long index, long term,
      CompletableFuture<Void> future) implements Op {}

  /** Completes once everything written before it is durable. */
  record Sync(CompletableFuture<Long> future) implements Op {}

  record Close(CompletableFuture<Long> future) implements Op {}

  private static final int MAX_OPS_PER_ROUND = 4096;

  private final Wal wal;
  final RecordWriter records;
  /** Writes whose records are in the files (or the buffer) but not yet forced. */
  private final List<Write> unforced = new ArrayList<>();

  WalWriter(Wal wal) {
    this.wal = wal;
    this.records = new RecordWriter(wal);
  }

  @Override
  public void run() {
    List<Op> round = new ArrayList<>();
    while (true) {
      try {
        round.add(wal.queue.take());
      } catch (InterruptedException e) {
        // Only close() ends the writer; an interrupt from elsewhere is not a reason to stop.
        continue;
      }
      wal.queue.drainTo(round, MAX_OPS_PER_ROUND);
      wal.writeLock.lock();
      try {
        if (!processRound(round)) {
          return;
        }
      } finally {
        wal.outstanding.addAndGet(-round.size());
        wal.writeLock.unlock();
      }
      round.clear();
    }
  }

  /**
   * Writes one op on the calling thread, which holds {@code wal.writeLock} with nothing queued or
   * in progress (checked by the caller under the appendLock): the same encoding as a round of the
   * writer thread, without handing the work to it and back. Forces only if the op asks to.
   */
  void writeInline(Write w) {
    try {
      if (wal.failure() != null) {
        w.future().completeExceptionally(new WalFailedException(wal.failure()));
        return;
      }
      encode(w);
      records.flush();
      if (w.force()) {
        forceAndAcknowledge();
        reclaimIfDue();
      }
    } catch (Throwable t) {
      failAll(t, List.of());
    }
  }

  /** Forces everything written so far, on the calling thread (which holds the writeLock). */
  void syncInline() {
    try {
      if (wal.failure() == null) {
        forceAndAcknowledge();
        reclaimIfDue();
      }
    } catch (Throwable t) {
      failAll(t, List.of());
    }
  }

  /**
   * Blocks until {@code f}, the future of an op this writer completes (or {@code Wal} failed before
   * queueing), is done; rethrows its failure as the I/O or runtime exception it is. An interrupt
   * does not end the wait, since the op runs whether or not anyone waits and the caller must not
   * return before it has; it is restored on the way out.
   */
  static <T> T await(CompletableFuture<T> f) throws IOException {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return f.get();
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof IOException io) {
            throw io;
          }
          if (c instanceof RuntimeException re) {
            throw re;
          }
          throw new WalException("WAL operation failed", c);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** One round under the write lock; false once the log is closed. */
  private boolean processRound(List<Op> round) {
    try {
      if (wal.failure() != null) {
        return failRound(round, new WalFailedException(wal.failure()));
      }
      boolean forceWanted = false;
      List<Sync> syncs = new ArrayList<>();
      for (Op op : round) {
        if (op instanceof Write w) {
          encode(w);
          forceWanted |= w.force();
        } else if (op instanceof Sync s) {
          syncs.add(s);
          forceWanted = true;
        } else if (op instanceof Exclusive x) {
          forceAndAcknowledge();
          wal.truncation.run(x);
          records.segmentsChanged();
          x.future().complete(null);
        } else if (op instanceof Close c) {
          forceAndAcknowledge();
          c.future().complete(0L);
          failRemaining(round, op, new WalException("WAL is closed"));
          return false;
        } else {
          throw new AssertionError(op);
        }
      }
      records.flush();
      if (forceWanted) {
        forceAndAcknowledge();
      }
      for (Sync s : syncs) {
        s.future().complete(0L);
      }
      reclaimIfDue();
      return true;
    } catch (Throwable t) {
      failAll(t, round);
      return round.stream().noneMatch(op -> op instanceof Close);
    }
  }

  private void encode(Write w) throws IOException {
    unforced.add(w);
    GroupState g = w.group();
    for (WalEntry e : w.entries()) {
      records.entry(g, e);
    }
    if (w.hardState() != null) {
      records.hardState(g, w.hardState());
      g.writtenHardState = w.hardState();
    }
  }

  /** Forces what was written (if anything) and completes the writes it made durable. */
  private void forceAndAcknowledge() throws IOException {
    records.force();
    if (unforced.isEmpty()) {
      return;
    }
    long seq = 0;
    for (Write w : unforced) {
      long last = w.lastIndex();
      if (last > w.group().durableIndex) {
        w.group().durableIndex = last;
      }
      seq = Math.max(seq, w.seq());
    }
    wal.markDurable(seq);
    for (Write w : unforced) {
      w.future().complete(w.lastIndex());
    }
    unforced.clear();
  }

  /** After a segment roll, once nothing is left unforced: free what no group needs any more. */
  private void reclaimIfDue() throws IOException {
    if (!records.dirty() && wal.reclaimDue()) {
      wal.reclaimer.reclaim();
    }
  }

  /** Failed by an earlier inline write: nothing more reaches the files. */
  private boolean failRound(List<Op> round, WalFailedException failed) {
    boolean closing = false;
    for (Op op : round) {
      if (op instanceof Close c) {
        c.future().complete(0L);
        closing = true;
      } else {
        op.future().completeExceptionally(failed);
      }
    }
    return !closing;
  }

  /** An I/O error: the log is failed for good; everything pending, in hand or queued fails. */
  private void failAll(Throwable t, List<Op> round) {
    wal.fail(t);
    WalFailedException failed = new WalFailedException(t);
    for (Write w : unforced) {
      w.future().completeExceptionally(failed);
    }
    unforced.clear();
    records.discard();
    for (Op op : round) {
      if (op instanceof Close c) {
        c.future().complete(0L);
      } else {
        op.future().completeExceptionally(failed);
      }
    }
  }

  /** After close: anything queued behind the close op fails rather than hanging. */
  private void failRemaining(List<Op> round, Op closeOp, Throwable cause) {
    boolean after = false;
    for (Op op : round) {
      if (after) {
        op.future().completeExceptionally(cause);
      }
      after |= op == closeOp;
    }
    List<Op> rest = new ArrayList<>();
    wal.queue.drainTo(rest);
    for (Op op : rest) {
      op.future().completeExceptionally(cause);
    }
  }
}
