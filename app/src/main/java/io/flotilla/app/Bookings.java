package io.flotilla.app;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Compare;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.KeyValue;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.ScanResult;
import io.flotilla.client.proto.TxnOp;
import io.flotilla.client.proto.TxnRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The booking site's whole state, kept in Flotilla and nowhere else (docs/app.md, "Keys"):
 *
 * <pre>
 *   app/event/EVENT                          the event (JSON)
 *   app/ev/EVENT/seat/SEAT                   the id of the booking that holds the seat; absent: free
 *   app/ev/EVENT/booking/BOOKING             the booking (JSON): event, seats, person, when
 *   app/ev/EVENT/person/PERSON/BOOKING       empty: a person's bookings of the event, by one scan
 * </pre>
 *
 * <p>Every key one booking's transaction touches is under {@code app/ev/EVENT/}. A transaction
 * over keys of two ranges is refused (CROSS_RANGE, docs/ranges.md), so the prefix keeps one
 * event's bookings in one range: a split at {@code app/ev/P} with no '/' in {@code P}, or at any
 * key outside {@code app/ev/} (the bench keys {@code local --ranges N} splits over), never
 * separates them. Should a split ever cut one event's prefix, its bookings fail with CROSS_RANGE
 * (nothing booked, no seat map changed) and the API says so: {@link #crossRange}.
 *
 * <p>A booking is one transaction: it applies only if its own key and every seat key are absent,
 * and then writes them all. So a seat is booked at most once, ever, whichever app instance asks;
 * and a booking retried with the same id (after a lost answer, a failover, a person pressing the
 * button again) can never apply twice: its second attempt finds its own booking key and is
 * answered with the booking that is already there. The client's exactly-once sessions make each
 * attempt's own retries safe too. Reads are LINEARIZABLE: a seat map is never older than a
 * booking already confirmed.
 */
public final class Bookings {
  /** Seats in one booking at most (a transaction holds 128 compares and ops: 2 per seat + 3). */
  public static final int MAX_SEATS_PER_BOOKING = 8;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  private static final Pattern PERSON = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N} ._'-]{0,39}");
  private static final Pattern SEAT = Pattern.compile("([A-Z])([1-9][0-9]?)");

  /** An event and the shape of its hall: rows A, B, ... of {@code seatsPerRow} seats. */
  public record Event(String id, String name, String venue, String when, int rows, int seatsPerRow) {
    public int capacity() {
      return rows * seatsPerRow;
    }

    boolean hasSeat(String seat) {
      var m = SEAT.matcher(seat);
      return m.matches() && m.group(1).charAt(0) - 'A' < rows && Integer.parseInt(m.group(2)) <= seatsPerRow;
    }
  }

  /** A confirmed booking. {@code bookedAt} is the app's clock (ms) when it was first asked for. */
  public record Booking(String id, String eventId, List<String> seats, String person, long bookedAt) {}

  /** What asking for a booking came to. Exactly one of the fields says it. */
  public record Outcome(Booking booked, boolean replay, List<String> taken, String refused) {
    static Outcome booked(Booking b, boolean replay) {
      return new Outcome(b, replay, List.of(), null);
    }

    static Outcome taken(List<String> seats) {
      return new Outcome(null, false, List.copyOf(seats), null);
    }

    static Outcome refused(String why) {
      return new Outcome(null, false, List.of(), why);
    }
  }

  /** A request the app refuses before touching the store (HTTP 400). */
  public static final class InvalidRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InvalidRequest(String message) {
      super(message);
    }
  }

  private final FlotillaClient client;
  private final ObjectMapper json = new ObjectMapper();

  public Bookings(FlotillaClient client) {
    this.client = client;
  }

  // ------------------------------------------------------------------------------------ events

  /** Creates the event unless one with its id exists; true when this call created it. */
  public boolean createEvent(Event e) {
    checkEvent(e);
    return client.blocking().cas(eventKey(e.id()), null, write(e));
  }

  public Optional<Event> event(String id) {
    checkId(id, "event id");
    return client.blocking().get(eventKey(id)).map(b -> read(b, Event.class));
  }

  /** Every event, in id order. */
  public List<Event> events() {
    List<Event> out = new ArrayList<>();
    scan("app/event/", (k, v) -> out.add(read(v, Event.class)));
    return out;
  }

  /** The taken seats of an event: seat to booking id, in seat order. One consistent read. */
  public Map<String, String> takenSeats(String eventId) {
    checkId(eventId, "event id");
    String prefix = eventPrefix(eventId) + "seat/";
    Map<String, String> taken = new TreeMap<>();
    scan(prefix, (k, v) -> taken.put(k.substring(prefix.length()), new String(v, UTF_8)));
    return taken;
  }

  // ---------------------------------------------------------------------------------- bookings

  /**
   * Books {@code seats} of {@code eventId} for {@code person} under {@code bookingId}, chosen by
   * the asker so that asking again is safe. Throws {@link FlotillaException} when the store gave
   * no definite answer (the caller says "retrying" and asks again with the same id).
   */
  public Outcome book(String bookingId, String eventId, String person, List<String> seats, long now) {
    checkId(bookingId, "booking id");
    checkPerson(person);
    List<String> wanted = seats.stream().distinct().sorted().toList();
    if (wanted.isEmpty() || wanted.size() > MAX_SEATS_PER_BOOKING || wanted.size() != seats.size()) {
      throw new InvalidRequest("seats: 1 to " + MAX_SEATS_PER_BOOKING + " distinct seats");
    }
    Event event = event(eventId).orElseThrow(() -> new InvalidRequest("no event " + eventId));
    for (String s : wanted) {
      if (!event.hasSeat(s)) {
        throw new InvalidRequest("event " + eventId + " has no seat " + s);
      }
    }
    Booking b = new Booking(bookingId, eventId, wanted, person, now);
    TxnRequest.Builder txn = TxnRequest.newBuilder();
    txn.addCompares(absent(bookingKey(eventId, bookingId)));
    for (String s : wanted) {
      txn.addCompares(absent(seatKey(eventId, s)));
      txn.addSuccess(put(seatKey(eventId, s), bookingId.getBytes(UTF_8)));
    }
    txn.addSuccess(put(bookingKey(eventId, bookingId), write(b)));
    txn.addSuccess(put(personKey(eventId, person, bookingId), new byte[0]));
    if (client.blocking().txn(txn.build())) {
      return Outcome.booked(b, false);
    }
    // Not applied now. Either an earlier attempt of this very booking was (its answer was lost),
    // or one of the seats is someone else's: both are read back, never guessed.
    Optional<Booking> earlier = booking(eventId, bookingId);
    if (earlier.isPresent()) {
      Booking e = earlier.get();
      return e.eventId().equals(eventId) && e.seats().equals(wanted) && e.person().equals(person)
          ? Outcome.booked(e, true)
          : Outcome.refused("booking id " + bookingId + " was already used for another booking");
    }
    Map<String, String> taken = takenSeats(eventId);
    List<String> lost = wanted.stream().filter(taken::containsKey).toList();
    if (lost.isEmpty()) {
      // Every seat was free when read back: the seats were taken after the compare... impossible,
      // since seats are never freed. Say so rather than pretend.
      throw new FlotillaException(Error.Code.INTERNAL,
          "booking " + bookingId + " was refused but its seats read back free", false);
    }
    return Outcome.taken(lost);
  }

  /** Booking {@code id} of event {@code eventId} (a booking id is unique within its event). */
  public Optional<Booking> booking(String eventId, String id) {
    checkId(eventId, "event id");
    checkId(id, "booking id");
    return client.blocking().get(bookingKey(eventId, id)).map(v -> read(v, Booking.class));
  }

  /** Booking {@code id} of whichever event has one: one read per event. */
  public Optional<Booking> booking(String id) {
    checkId(id, "booking id");
    for (Event e : events()) {
      Optional<Booking> b = booking(e.id(), id);
      if (b.isPresent()) {
        return b;
      }
    }
    return Optional.empty();
  }

  /** A person's bookings, in booking-id order: one scan per event. */
  public List<Booking> bookingsOf(String person) {
    checkPerson(person);
    List<Booking> out = new ArrayList<>();
    for (Event e : events()) {
      String prefix = eventPrefix(e.id()) + "person/" + person + "/";
      List<String> ids = new ArrayList<>();
      scan(prefix, (k, v) -> ids.add(k.substring(prefix.length())));
      for (String id : ids) {
        booking(e.id(), id).ifPresent(out::add);
      }
    }
    out.sort(java.util.Comparator.comparing(Booking::id).thenComparing(Booking::eventId));
    return out;
  }

  /** Is {@code e} the store refusing a transaction over two ranges (one event's keys split apart)? */
  public static boolean crossRange(FlotillaException e) {
    return e.code() == Error.Code.CROSS_RANGE;
  }

  // ----------------------------------------------------------------------------------- checks

  static void checkId(String id, String what) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new InvalidRequest(what + ": 1 to 64 letters, digits, '-' or '_', starting with a letter or digit");
    }
  }

  static void checkPerson(String person) {
    if (person == null || !PERSON.matcher(person).matches()) {
      throw new InvalidRequest("person: 1 to 40 letters, digits, spaces or . _ ' -");
    }
  }

  private static void checkEvent(Event e) {
    checkId(e.id(), "event id");
    if (e.rows() < 1 || e.rows() > 26 || e.seatsPerRow() < 1 || e.seatsPerRow() > 40) {
      throw new InvalidRequest("rows: 1 to 26; seatsPerRow: 1 to 40");
    }
    if (e.name() == null || e.name().isBlank() || e.name().length() > 80) {
      throw new InvalidRequest("name: 1 to 80 characters");
    }
  }

  // ------------------------------------------------------------------------------ store plumbing

  private interface Visitor {
    void visit(String key, byte[] value);
  }

  /** Every key under {@code prefix}, page by page (each page is one consistent read). */
  private void scan(String prefix, Visitor visitor) {
    byte[] start = prefix.getBytes(UTF_8);
    byte[] end = prefixEnd(start);
    while (true) {
      ScanResult page = client.blocking().scan(start, end, 1000, Consistency.LINEARIZABLE);
      for (KeyValue kv : page.getEntriesList()) {
        visitor.visit(kv.getKey().toStringUtf8(), kv.getValue().toByteArray());
      }
      if (page.getContinuation().isEmpty()) {
        return;
      }
      start = page.getContinuation().toByteArray();
    }
  }

  private static byte[] prefixEnd(byte[] prefix) {
    byte[] end = prefix.clone();
    end[end.length - 1]++; // prefixes end in '/', never 0xFF
    return end;
  }

  private static Compare absent(byte[] key) {
    return Compare.newBuilder().setKey(ByteString.copyFrom(key)).setKind(Compare.Kind.ABSENT).build();
  }

  private static TxnOp put(byte[] key, byte[] value) {
    return TxnOp.newBuilder().setPut(PutRequest.newBuilder().setKey(ByteString.copyFrom(key))
        .setValue(ByteString.copyFrom(value))).build();
  }

  static byte[] eventKey(String id) {
    return ("app/event/" + id).getBytes(UTF_8);
  }

  /** Every key of one event's bookings starts with this (its event record excepted). */
  static String eventPrefix(String eventId) {
    return "app/ev/" + eventId + "/";
  }

  static byte[] seatKey(String eventId, String seat) {
    return (eventPrefix(eventId) + "seat/" + seat).getBytes(UTF_8);
  }

  static byte[] bookingKey(String eventId, String id) {
    return (eventPrefix(eventId) + "booking/" + id).getBytes(UTF_8);
  }

  static byte[] personKey(String eventId, String person, String bookingId) {
    return (eventPrefix(eventId) + "person/" + person + "/" + bookingId).getBytes(UTF_8);
  }

  private byte[] write(Object o) {
    try {
      return json.writeValueAsBytes(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private <T> T read(byte[] b, Class<T> type) {
    try {
      return json.readValue(b, type);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("a stored " + type.getSimpleName() + " does not parse", e);
    }
  }
}
