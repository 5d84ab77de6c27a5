// app.ts - what every page gets: the signed-in user, the optional features
// the server answers for, hash routing helpers and page-level messages.

import type { User } from "./api";
import { ApiError } from "./api";
import { h } from "./dom";
import { t } from "./i18n";

export interface Route {
	path: string[];			/* "#/quarantine/abc" -> ["quarantine", "abc"] */
	params: URLSearchParams;	/* "#/messages?sender=x" */
}

export interface Ctx {
	user: User;
	route: Route;
	features: Set<string>;		/* "holds", "approvals", "accounts" */
}

export type Page = (ctx: Ctx) => Promise<Node>;

export function parseHash(hash: string): Route {
	const raw = hash.replace(/^#\/?/, "");
	const [p, q = ""] = raw.split("?", 2);
	const path = p.split("/").filter(Boolean).map((x) => decodeURIComponent(x));
	return { path, params: new URLSearchParams(q) };
}

export function href(path: string, params?: Record<string, string>): string {
	let q = "";
	if (params) {
		const p = new URLSearchParams();
		for (const [k, v] of Object.entries(params))
			if (v)
				p.set(k, v);
		q = p.toString();
	}
	return `#/${path}${q ? `?${q}` : ""}`;
}

export function go(path: string, params?: Record<string, string>): void {
	location.hash = href(path, params);
}

// notice: a status line that screen readers announce (role=status/alert).
export function notice(kind: "ok" | "error", text: string): HTMLElement {
	return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function errorText(e: unknown): string {
	if (e instanceof ApiError) {
		if (e.status === 403)
			return t("common.forbidden");
		if (e.status === 404)
			return t("common.notfound");
		return t("common.error", { msg: e.message });
	}
	return t("common.error", { msg: String(e) });
}

export function pageTitle(text: string): HTMLElement {
	// tabindex -1: focus moves to the heading after navigation.
	return h("h1", { tabindex: "-1", class: "page-title" }, text);
}
