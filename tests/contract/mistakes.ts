// Code the generated types must refuse (tests/test_typescript_contract.py expects tsc to fail on it):
// the errors FastAPI's default schema promised, and a result field read without checking `scenario`.
import type { components } from "./api";

type Schemas = components["schemas"];

export function firstLocation(body: Schemas["ErrorBody"]): unknown {
  if (typeof body.detail === "string") return null;
  return body.detail[0]?.loc;
}

export function eta(call: Schemas["CallDetail"]): string | null | undefined {
  return call.result?.eta;
}

export const status: Schemas["CallStatus"] = "finished";

// A role the API does not have.
export const role: Schemas["Role"] = "superuser";
