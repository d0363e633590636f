package io.flotilla.storage;

/** A key and its value as returned by {@link KvStateMachine#scan}. */
public record KvPair(byte[] key, byte[] value) {}
