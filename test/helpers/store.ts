import { randomUUID } from "node:crypto";
import type { NewEvent } from "../../src/core/event.js";
import type { AppendResult, Store } from "../../src/core/store.js";
import { projectOrderingKey } from "../../src/core/ordering-key.js";

/** A push event of a public project, with whatever the test changes. */
export function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    deliveryId: randomUUID(),
    receivedAt: new Date().toISOString(),
    instance: null,
    hook: "project",
    type: "push",
    action: null,
    project: { id: 1, path: "g/p1", url: null, visibility: "public" },
    actor: null,
    object: null,
    payload: { object_kind: "push" },
    ...overrides,
  };
}

/** Appends an event with a delivery for each named sink, ordered by project, in scope "". */
export function appendEvent(
  store: Store,
  overrides: Partial<NewEvent> = {},
  sinks: readonly string[] = [],
  scope = "",
): Promise<AppendResult> {
  const event = newEvent(overrides);
  return store.append(event, {
    deliveries: sinks.map((sink) => ({ sink, orderingKey: projectOrderingKey(event) })),
    scope,
    payloadJson: JSON.stringify(event.payload),
  });
}
