// A slice of the dashboard, written against the types openapi-typescript generates from /openapi.json.
// tests/test_typescript_contract.py type-checks it (tsc --noEmit --strict): if the API's contract drifts
// from what the dashboard relies on, this stops compiling.
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type ListCalls = paths["/api/call"]["get"];
type ListQuery = NonNullable<ListCalls["parameters"]["query"]>;
type CallPage = ListCalls["responses"][200]["content"]["application/json"];
type Unauthorized = ListCalls["responses"][401]["content"]["application/json"];
type Invalid = ListCalls["responses"][422]["content"]["application/json"];
type CallDetail = paths["/api/call/{call_id}"]["get"]["responses"][200]["content"]["application/json"];

export type Listing =
  | { kind: "page"; rows: string[][]; nextCursor: string | null }
  | { kind: "login"; message: string }
  | { kind: "invalid"; fields: Record<string, string> };

// Every filter the dashboard offers, with the names and types the API takes.
export const lastWeek: ListQuery = {
  created_after: "2026-11-19T00:00:00Z",
  created_before: "2026-11-26T00:00:00Z",
  agent_config_id: "0b5d3c2a-1e4f-4a6b-8c7d-9e0f1a2b3c4d",
  status: "completed",
  call_outcome: "Emergency Escalation",
  follow_up: true,
  follow_up_reason: "noisy_line",
  limit: 25,
};

export async function listCalls(baseUrl: string, token: string, query: ListQuery): Promise<Listing> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  const response = await fetch(`${baseUrl}/api/call?${params}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (response.status === 401) {
    const body: Unauthorized = await response.json();
    return { kind: "login", message: `${body.error}: ${describe(body)}` };
  }
  if (response.status === 422) {
    const body: Invalid = await response.json();
    return { kind: "invalid", fields: fieldErrors(body) };
  }
  const page: CallPage = await response.json();
  return { kind: "page", rows: page.items.map(row), nextCursor: page.next_cursor };
}

// A 422 names each field; any other error is a sentence.
export function fieldErrors(body: Schemas["ErrorBody"]): Record<string, string> {
  const fields: Record<string, string> = {};
  if (typeof body.detail === "string") {
    fields["request"] = body.detail;
    return fields;
  }
  for (const problem of body.detail) fields[problem.field] = problem.message;
  return fields;
}

function describe(body: Schemas["ErrorBody"]): string {
  return typeof body.detail === "string" ? body.detail : body.detail.map((p) => p.message).join("; ");
}

const BADGE: Record<Schemas["CallStatus"], string> = {
  queued: "grey",
  registered: "grey",
  ongoing: "blue",
  ended: "blue",
  processing: "blue",
  completed: "green",
  failed: "red",
  not_connected: "orange",
};

function row(call: CallPage["items"][number]): string[] {
  const outcome: "In-Transit Update" | "Arrival Confirmation" | "Emergency Escalation" | null = call.call_outcome;
  const followUp: "uncooperative" | "noisy_line" | "escalation_pending" | null = call.follow_up_reason;
  return [call.driver_name, call.load_number, BADGE[call.status], outcome ?? "-", followUp ?? "", call.created_at];
}

// The follow-up flags every result carries, whichever its scenario, live or final.
export function followUpFlags(call: CallDetail): string[] {
  const flags: string[] = [];
  for (const result of [call.result, call.live_result]) {
    if (result === null) continue;
    const reason: "uncooperative" | "noisy_line" | "escalation_pending" | null = result.follow_up_reason;
    if (reason !== null) flags.push(`follow up: ${reason}`);
    const conflict: boolean = result.location_conflict;
    const gps: string | null = result.gps_location;
    if (conflict) flags.push(`driver not at GPS position ${gps ?? "unknown"}`);
  }
  return flags;
}

// The result panel: each scenario's own fields, told apart by `scenario`.
export function resultPanel(call: CallDetail): string[] {
  const result = call.result;
  if (result === null) return [call.status_detail ?? "no result yet"];
  switch (result.scenario) {
    case "check_in":
      return [
        result.call_outcome,
        result.driver_status ?? "not said",
        result.current_location ?? "not said",
        result.eta ?? "not said",
        result.delay_reason ?? "not said",
        result.unloading_status ?? "not said",
        result.pod_reminder_acknowledged ? "POD acknowledged" : "POD not acknowledged",
      ];
    case "emergency":
      return [
        result.call_outcome,
        result.emergency_type,
        result.safety_status ?? "not said",
        result.injury_status ?? "not said",
        result.emergency_location ?? "not said",
        result.load_secure === null ? "load: not said" : result.load_secure ? "load secure" : "load NOT secure",
        result.escalation_status ?? "not said",
      ];
    default: {
      const unexpected: never = result;
      return unexpected;
    }
  }
}

export function header(stats: Schemas["CallStats"]): string {
  const emergencies = stats.by_outcome.find((o) => o.call_outcome === "Emergency Escalation")?.count ?? 0;
  const needFollowUp = stats.by_follow_up_reason
    .filter((entry) => entry.follow_up_reason !== null)
    .reduce((sum, entry) => sum + entry.count, 0);
  return (
    `${stats.total} calls, ${stats.by_status.completed} completed, ${emergencies} emergencies, ` +
    `${needFollowUp} to follow up, ${stats.location_conflicts} location conflicts`
  );
}

// Team accounts: the admin's users page, an invitation, and what every role-checked route may answer.
type ListUsers = paths["/api/users"]["get"];
type UserPage = ListUsers["responses"][200]["content"]["application/json"];
type CreateUser = paths["/api/users"]["post"];
type NewUser = CreateUser["requestBody"]["content"]["application/json"];
type Created = CreateUser["responses"][201]["content"]["application/json"];
type UpdateUser = paths["/api/users/{user_id}"]["patch"];
type LastAdmin = UpdateUser["responses"][409]["content"]["application/json"];
type Forbidden = ListUsers["responses"][403]["content"]["application/json"];
type TriggerForbidden = paths["/api/call/trigger"]["post"]["responses"][403]["content"]["application/json"];
type TriggerThrottled = paths["/api/call/trigger"]["post"]["responses"][429]["content"]["application/json"];
type ExportForbidden = paths["/api/call/export"]["get"]["responses"][403]["content"]["application/json"];
type StreamForbidden = paths["/api/events"]["get"]["responses"][403]["content"]["application/json"];
type SetPassword = paths["/api/auth/set-password"]["post"]["requestBody"]["content"]["application/json"];
type AuditPage = paths["/api/audit"]["get"]["responses"][200]["content"]["application/json"];
type Policy = paths["/api/dialing-policy"]["put"]["requestBody"]["content"]["application/json"];

const ROLE_LABEL: Record<Schemas["Role"], string> = { admin: "Admin", dispatcher: "Dispatcher", viewer: "Viewer" };

export const invitation: NewUser = { email: "dana@example.com", role: "dispatcher", full_name: "Dana Reyes" };
export const firstPassword: SetPassword = { token: "from-the-admin", new_password: "tandem-lumber-orchard-42" };
export const northAmerica: Policy = { allowed_regions: ["US", "CA"] };

export function userRows(page: UserPage): string[][] {
  return page.items.map((u) => [u.email, u.full_name ?? "-", ROLE_LABEL[u.role], u.is_active ? "active" : "off"]);
}

export function inviteLink(created: Created): string | null {
  return created.set_password_token === null ? null : `/set-password?token=${created.set_password_token}`;
}

export function auditLines(page: AuditPage): string[] {
  return page.items.map((entry) => {
    const fields = Object.entries(entry.changes).map(([name, c]) => `${name}: ${String(c.old)} -> ${String(c.new)}`);
    return `${entry.at} ${entry.actor_email} ${entry.action} ${fields.join(", ")}`;
  });
}

// A 403 is an ErrorBody like every other error: the dashboard hides the button and says why.
export function refused(body: Forbidden | TriggerForbidden | ExportForbidden | StreamForbidden | LastAdmin): string {
  return `${body.error}: ${describe(body)}`;
}

export function throttled(body: TriggerThrottled, retryAfter: string | null): string {
  return `${describe(body)} (retry in ${retryAfter ?? "?"} s)`;
}

export function whoTriggered(call: CallDetail): string {
  return call.triggered_by ?? "started outside the dashboard";
}
