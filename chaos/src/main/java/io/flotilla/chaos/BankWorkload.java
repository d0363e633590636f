package io.flotilla.chaos;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.protobuf.ByteString;
import io.flotilla.checker.Model;
import io.flotilla.checker.Operation;
import io.flotilla.client.proto.Compare;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.KeyValue;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.ScanResult;
import io.flotilla.client.proto.TxnOp;
import io.flotilla.client.proto.TxnRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Transfers between five accounts, each a transaction that moves money only if both balances are
 * still what its client last read (so concurrent transfers race, and the losers change nothing),
 * and reads of all five at once (a scan). The total never changes. Every {@value #OPS_PER_BANK}
 * operations the clients move to a fresh bank (key "bank-G"), created by one initialising
 * transaction, so each bank's history stays short enough to search.
 */
final class BankWorkload implements Workload {
  static final int ACCOUNTS = 5;
  static final long INITIAL = 100;
  static final int OPS_PER_BANK = 300;
  /** Banks between two pre-split points. */
  static final int PRESPLIT_BANKS = 8;
  private final AtomicInteger bank = new AtomicInteger();
  private final AtomicInteger used = new AtomicInteger();
  /** Per worker: the balances it last read, by bank. */
  private final Map<Worker, Map<String, List<Long>>> views = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public String name() {
    return "bank";
  }

  static String bankKey(int g) {
    return String.format("bank-%06d", g);
  }

  private static byte[] account(String bank, int i) {
    return (bank + "/" + i).getBytes(UTF_8);
  }

  private String pickBank() {
    int g = bank.get();
    if (used.incrementAndGet() >= OPS_PER_BANK && bank.compareAndSet(g, g + 1)) {
      used.set(0);
    }
    return bankKey(g);
  }

  @Override
  public void step(Worker w) throws InterruptedException {
    String key = pickBank();
    Map<String, List<Long>> view = views.computeIfAbsent(w, x -> new HashMap<>());
    List<Long> seen = view.get(key);
    if (seen == null || w.random.nextDouble() < 0.3) {
      Worker.Outcome o = read(w, key, w.nextReadConsistency());
      if (o.ok()) {
        @SuppressWarnings("unchecked")
        List<Long> balances = (List<Long>) o.value();
        view.put(key, balances);
      }
      return;
    }
    if (seen.stream().allMatch(Objects::isNull)) {
      TxnRequest.Builder t = TxnRequest.newBuilder();
      for (int i = 0; i < ACCOUNTS; i++) {
        t.addCompares(Compare.newBuilder().setKey(ByteString.copyFrom(account(key, i)))
            .setKind(Compare.Kind.ABSENT));
        t.addSuccess(put(account(key, i), INITIAL));
      }
      w.write("txn", key, Map.of("init", INITIAL), () -> w.client.txn(t.build()), ok -> ok,
          ok -> ok);
      view.remove(key); // read again either way
      return;
    }
    int from = w.random.nextInt(ACCOUNTS);
    int to = (from + 1 + w.random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
    Long vf = seen.get(from);
    Long vt = seen.get(to);
    if (vf == null || vt == null || vf == 0) {
      view.remove(key);
      return;
    }
    long amount = 1 + w.random.nextInt((int) Math.min(5, vf));
    TxnRequest t = TxnRequest.newBuilder()
        .addCompares(Compare.newBuilder().setKey(ByteString.copyFrom(account(key, from)))
            .setKind(Compare.Kind.VALUE_EQUALS).setValue(ByteString.copyFromUtf8("" + vf)))
        .addCompares(Compare.newBuilder().setKey(ByteString.copyFrom(account(key, to)))
            .setKind(Compare.Kind.VALUE_EQUALS).setValue(ByteString.copyFromUtf8("" + vt)))
        .addSuccess(put(account(key, from), vf - amount))
        .addSuccess(put(account(key, to), vt + amount))
        .build();
    Map<String, Object> arg = new LinkedHashMap<>();
    arg.put("from", from);
    arg.put("to", to);
    arg.put("expected", Arrays.asList(vf, vt));
    arg.put("amount", amount);
    Worker.Outcome o = w.write("txn", key, arg, () -> w.client.txn(t), ok -> ok, ok -> ok);
    if (o.ok()) {
      List<Long> next = new ArrayList<>(seen);
      next.set(from, vf - amount);
      next.set(to, vt + amount);
      view.put(key, next);
    } else {
      view.remove(key);
    }
  }

  private static TxnOp put(byte[] key, long value) {
    return TxnOp.newBuilder().setPut(PutRequest.newBuilder().setKey(ByteString.copyFrom(key))
        .setValue(ByteString.copyFromUtf8("" + value))).build();
  }

  private static Worker.Outcome read(Worker w, String key, Consistency c)
      throws InterruptedException {
    byte[] start = (key + "/").getBytes(UTF_8);
    byte[] end = (key + "0").getBytes(UTF_8); // '0' follows '/': just past every account
    return w.read("get", key, c, () -> w.client.scan(start, end, ACCOUNTS + 1, c),
        BankWorkload::balances);
  }

  static List<Long> balances(ScanResult r) {
    List<Long> out = new ArrayList<>(java.util.Collections.nCopies(ACCOUNTS, (Long) null));
    for (KeyValue kv : r.getEntriesList()) {
      String k = kv.getKey().toStringUtf8();
      int i = Integer.parseInt(k.substring(k.lastIndexOf('/') + 1));
      out.set(i, Long.parseLong(kv.getValue().toStringUtf8()));
    }
    return out;
  }

  @Override
  public List<String> keys() {
    List<String> out = new ArrayList<>();
    for (int g = 0; g <= bank.get(); g++) {
      out.add(bankKey(g));
    }
    return out;
  }

  @Override
  public boolean finalRead(Worker w, String key) throws InterruptedException {
    return read(w, key, FINAL).ok();
  }

  /**
   * Every {@value #PRESPLIT_BANKS}th bank's key, {@code bank-G}: it sorts before the bank's
   * accounts ({@code bank-G/0}..), after every earlier bank's, so each bank lies in one range.
   */
  @Override
  public List<String> presplitKeys(int ranges) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i < ranges; i++) {
      out.add(bankKey(i * PRESPLIT_BANKS));
    }
    return out;
  }

  /**
   * The current bank's key (its accounts move to a new range together, under the clients' feet)
   * or one of the next three banks'; past any range start, bank by bank.
   */
  @Override
  public String splitKey(java.util.SplittableRandom random, java.util.Set<String> rangeStarts) {
    int g = bank.get() + random.nextInt(4);
    while (rangeStarts.contains(bankKey(g))) {
      g++;
    }
    return bankKey(g);
  }

  /** A key after a bank's first account and at or before its last: {@code B/0 < key <= B/4}. */
  @Override
  public boolean separates(String key) {
    int slash = key.indexOf('/');
    if (slash < 0) {
      return false; // B/0 < key <= B/4 holds only for keys that start with "B/"
    }
    String b = key.substring(0, slash);
    return key.compareTo(b + "/0") > 0 && key.compareTo(b + "/" + (ACCOUNTS - 1)) <= 0;
  }

  @Override
  public Model modelFor(String key) {
    return new Model.Bank(ACCOUNTS);
  }

  @Override
  public Map<String, Object> check(List<Operation> ops, List<Operation> serializableReads) {
    List<String> wrong = new ArrayList<>();
    int reads = 0;
    List<Operation> all = new ArrayList<>(ops);
    all.addAll(serializableReads);
    for (Operation op : all) {
      if (!op.isRead() || !op.ok()) {
        continue;
      }
      reads++;
      List<?> b = (List<?>) op.result();
      long present = b.stream().filter(Objects::nonNull).count();
      long total = b.stream().filter(Objects::nonNull).mapToLong(x -> Operation.asLong(x)).sum();
      if (present != 0 && (present != ACCOUNTS || total != ACCOUNTS * INITIAL)) {
        wrong.add(op.key() + " (" + op.consistency() + " read): balances " + b + " total "
            + total + ", expected " + ACCOUNTS * INITIAL);
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("bankTotals", Map.of("ok", wrong.isEmpty(), "reads", reads,
        "anomalies", wrong.subList(0, Math.min(20, wrong.size()))));
    return out;
  }
}
