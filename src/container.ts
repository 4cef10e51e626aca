import 'reflect-metadata';

/** Injection tokens: every constructor parameter names one (no reliance on emitted type metadata). */
export const CONFIG = Symbol('Config');
export const LOGGER = Symbol('Logger');
export const METRICS = Symbol('Metrics');
export const KEYSPACE = Symbol('Keyspace');
export const STORE = Symbol('Store');
export const COMMAND_BUS = Symbol('CommandBus');
export const EVENT_BUS = Symbol('EventBus');
