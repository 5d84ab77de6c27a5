// ui.ts - building blocks shared by the list pages: a filter form whose
// values live in the URL (so Back restores a search), a pager, an inline
// confirmation (no window.confirm: it is not styled nor translated), a live
// countdown and a runner for action buttons.

import { errorText, go, notice } from "./app";
import { field, h } from "./dom";
import { countdownText, dateTime, fromLocalInput } from "./format";
import { t } from "./i18n";

export interface FilterField {
	name: string;
	label: string;
	type?: "text" | "datetime" | "select";
	options?: [string, string][];	/* value, label for selects */
}

// toLocalInput: ISO 8601 -> the value a datetime-local input shows.
function toLocalInput(iso: string): string {
	const d = new Date(iso);
	if (!iso || Number.isNaN(d.getTime()))
		return "";
	const p = (n: number) => String(n).padStart(2, "0");
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function filterForm(page: string, fields: FilterField[], params: URLSearchParams): HTMLElement {
	const controls = new Map<string, HTMLInputElement | HTMLSelectElement>();
	const rows = fields.map((f) => {
		let c: HTMLInputElement | HTMLSelectElement;
		if (f.type === "select") {
			c = h("select", { name: f.name }, (f.options ?? []).map(([v, l]) =>
			    h("option", { value: v, selected: params.get(f.name) === v }, l)));
		} else if (f.type === "datetime") {
			c = h("input", { name: f.name, type: "datetime-local", value: toLocalInput(params.get(f.name) ?? "") });
		} else {
			c = h("input", { name: f.name, type: "search", value: params.get(f.name) ?? "" });
		}
		controls.set(f.name, c);
		return field(f.label, c);
	});
	return h("form", { class: "filters", role: "search", onsubmit: (ev: Event) => {
		ev.preventDefault();
		const q: Record<string, string> = {};
		for (const f of fields) {
			const c = controls.get(f.name)!;
			q[f.name] = f.type === "datetime" ? fromLocalInput(c.value) : c.value.trim();
		}
		go(page, q);
	} },
	    h("div", { class: "filter-fields" }, rows),
	    h("div", { class: "filter-buttons" },
		h("button", { type: "submit", class: "primary" }, t("common.search")),
		h("button", { type: "button", onclick: () => go(page) }, t("common.reset"))));
}

// pager: "1–50 of 120" with previous/next links that keep the filters.
export function pager(page: string, params: URLSearchParams, total: number,
    offset: number, limit: number, shown: number): HTMLElement {
	const at = (o: number) => {
		const q: Record<string, string> = {};
		params.forEach((v, k) => { q[k] = v; });
		q.offset = o > 0 ? String(o) : "";
		return q;
	};
	return h("nav", { class: "pager", "aria-label": t("common.page", { from: offset + 1, to: offset + shown, total }) },
	    h("span", null, total > 0 ? t("common.page", { from: offset + 1, to: offset + shown, total }) : ""),
	    h("button", { type: "button", disabled: offset <= 0, onclick: () => go(page, at(Math.max(0, offset - limit))) },
		t("common.prev")),
	    h("button", { type: "button", disabled: offset + shown >= total, onclick: () => go(page, at(offset + limit)) },
		t("common.next")));
}

// confirmButton: a button that asks inline before running `run`.
export function confirmButton(label: string, question: string, run: () => void, cls = "danger"): HTMLElement {
	const wrap = h("span", { class: "confirm" });
	const ask = h("button", { type: "button", class: cls, onclick: () => {
		const yes = h("button", { type: "button", class: cls, onclick: run }, label);
		const no = h("button", { type: "button", onclick: () => wrap.replaceChildren(ask) }, t("common.cancel"));
		wrap.replaceChildren(h("span", { role: "alert" }, question), yes, no);
		yes.focus();
	} }, label);
	wrap.appendChild(ask);
	return wrap;
}

export function offsetOf(params: URLSearchParams): number {
	const o = Number(params.get("offset"));
	return Number.isInteger(o) && o > 0 ? o : 0;
}

// countdown: a time that counts down live ("in 4 min 05 s"); one ticker
// for the whole console updates every such element once a second.
let ticker = 0;

function tick(): void {
	document.querySelectorAll<HTMLElement>("[data-countdown]").forEach((e) => {
		const at = e.dataset.countdown ?? "";
		e.textContent = countdownText(at);
		e.classList.toggle("due", new Date(at).getTime() <= Date.now());
	});
}

export function countdown(iso: string | null | undefined): HTMLElement | string {
	if (!iso)
		return "";
	if (!ticker)
		ticker = window.setInterval(tick, 1000);
	return h("time", { datetime: iso, class: "countdown", "data-countdown": iso, title: dateTime(iso) },
	    countdownText(iso));
}

// runAction: disable the buttons of `box`, run `fn`, then show `done` (or
// the error) in `status` and call `after` on success.
export async function runAction(box: HTMLElement, status: HTMLElement, fn: () => Promise<unknown>,
    done: string, after?: () => void): Promise<boolean> {
	status.replaceChildren();
	box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
	try {
		await fn();
		status.replaceChildren(notice("ok", done));
		after?.();
		return true;
	} catch (e) {
		status.replaceChildren(notice("error", errorText(e)));
		return false;
	} finally {
		box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
	}
}
