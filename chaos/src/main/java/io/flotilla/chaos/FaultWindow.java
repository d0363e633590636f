package io.flotilla.chaos;

/**
 * One injected fault, from injection to heal, on the history's clock.
 *
 * @param check for faults that verify something themselves (disk): "ok" or what went wrong;
 *              null otherwise
 */
public record FaultWindow(int seq, String kind, String detail, long start, long end,
    String check) {}
