// api.ts - calls to sekisho's REST API (/api/v1, see the API contract).
//
// The session is the HttpOnly cookie set by POST /login; every request other
// than GET/HEAD carries the X-CSRF-Token header (value from /login or GET /me).
// A failed call throws ApiError with the HTTP status and the server's
// {"error": ...} text; a 401 on anything but /login also tells the app
// (onUnauthorized) so it can show the sign-in page again.

export const BASE = "api/v1";

export class ApiError extends Error {
	status: number;
	body: Record<string, unknown>;

	constructor(status: number, body: Record<string, unknown>) {
		super(typeof body.error === "string" ? body.error : `HTTP ${status}`);
		this.status = status;
		this.body = body;
	}
}

let csrf = "";
let unauthorized: (() => void) | null = null;

export function setCsrf(token: string): void {
	csrf = token;
}

export function onUnauthorized(fn: () => void): void {
	unauthorized = fn;
}

export type Query = Record<string, string | number | undefined | null>;

export function query(q: Query): string {
	const p = new URLSearchParams();
	for (const [k, v] of Object.entries(q)) {
		if (v !== undefined && v !== null && v !== "")
			p.set(k, String(v));
	}
	const s = p.toString();
	return s ? `?${s}` : "";
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
	const headers: Record<string, string> = { Accept: "application/json" };
	if (method !== "GET" && method !== "HEAD")
		headers["X-CSRF-Token"] = csrf;
	if (body !== undefined)
		headers["Content-Type"] = "application/json";
	let res: Response;
	try {
		res = await fetch(`${BASE}${path}`, {
			method,
			headers,
			credentials: "same-origin",
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	} catch (e) {
		throw new ApiError(0, { error: String(e) });
	}
	let data: Record<string, unknown> = {};
	const text = await res.text();
	if (text) {
		try {
			data = JSON.parse(text);
		} catch {
			data = { error: text.slice(0, 200) };
		}
	}
	if (!res.ok) {
		if (res.status === 401 && path !== "/login" && unauthorized)
			unauthorized();
		throw new ApiError(res.status, data);
	}
	return data as T;
}

// The shapes of the contract's answers (only the fields the console uses).
export interface User {
	name: string;
	role: "admin" | "approver" | "user";
	lang: string;
	email: string;
	csrf?: string;
}

export interface QItem {
	id: string;
	received: string;
	from: string;
	rcpts: string[];
	subject: string;
	score: number;
	action: string;
	symbols: string[];
}

export interface QDetail extends Omit<QItem, "symbols"> {
	direction?: "inbound" | "outbound";
	symbols: { name: string; score: number; reason: string }[];
	headers: [string, string][];
	text: string | null;
	html: string | null;
	attachments: { name: string; type: string; size: number }[];
}

export interface MsgItem {
	id: string;
	received: string;
	direction: "inbound" | "outbound";
	from: string;
	rcpts: string[];
	subject: string;
	action: string;
	score: number | null;	/* null: refused during SMTP */
	state: string;
	symbols?: string[];
}

export interface Stats {
	by_action: { t: string; deliver: number; tag: number; quarantine: number; reject: number; hold: number }[];
	top_symbols: { name: string; count: number }[];
	top_targets: { rcpt: string; count: number }[];
	logins: { t: string; failures: number; refused: number }[];
	totals: { received: number; delivered: number; quarantined: number; rejected: number };
	holds?: { held: number; released: number; approved: number; cancelled: number; rejected: number; expired: number };
}

export interface Page<T> {
	total: number;
	items: T[];
}

// ---- held mail, approvals, account security, incidents (round 2) ----

export type HoldKind = "hold" | "approval" | "confirm" | "admin";
export type HoldAction = "cancel" | "release" | "approve" | "reject";

export interface HoldItem {
	id: string;
	kind: HoldKind;
	status: string;		/* held, released, approved, cancelled, rejected, expired */
	from: string;
	rcpts: string[];
	subject: string | null;
	risk: number;
	created: string;
	release_at: string | null;	/* kind hold: the automatic send */
	deadline: string | null;	/* approval, confirm */
	decided: string | null;
	decided_by: string | null;
	comment: string | null;
	actions: HoldAction[];		/* what this user may do now */
	approvers?: string[];
	/* not in every list answer: the pages fetch the detail when absent */
	reasons?: { name: string; weight: number }[];
	attachments?: { name: string; type: string; size: number }[];
}

export interface HoldDetail extends HoldItem {
	approvers: string[];
	reasons: { name: string; weight: number }[];
	symbols: { name: string; score: number; reason: string }[];
	attachments: { name: string; type: string; size: number }[];
	headers: [string, string][];
	text: string | null;
	html: string | null;
	timeline: { t: string; event: string; by: string | null; comment: string | null }[];
}

export interface Lock {
	login: string;
	created: string;
	until: string | null;	/* null: until cleared */
	reason: string;
}

export interface Alert {
	id: number;
	t: string;
	kind: string;
	login: string;
	ip: string;
	detail: string;
	acknowledged: boolean;
}

export interface Login {
	id: number;
	t: string;
	login: string;
	ip: string;
	protocol: string;
	source: string;
	country: string;
	result: "ok" | "fail" | "refused" | string;
}

export interface Incident {
	id: number;
	login: string;
	status: "open" | "closed";
	opened: string;
	opened_by: string;
	closed: string | null;
	closed_by: string;
	steps_done: number;
}

export interface IncidentStep {
	step: number;
	name: "account" | "password" | "contacts" | "device" | string;
	done: boolean;
	done_at: string | null;
	actor: string;
	note: string;
}

export interface IncidentDetail extends Incident {
	steps: IncidentStep[];
	timeline: { id: number; time: string; step: number; actor: string; what: string;
	    detail: Record<string, unknown> | string }[];
}

// The answer of POST /incidents: the four step outcomes, shown once.
export interface IncidentOpened {
	id: number;
	login: string;
	status: string;
	steps: Record<string, unknown>[];
}

export interface Items<T> {
	items: T[];
}
