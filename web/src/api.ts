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
}

export interface Page<T> {
	total: number;
	items: T[];
}
