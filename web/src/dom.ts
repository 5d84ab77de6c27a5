// dom.ts - small DOM helpers: h() builds an element with attributes,
// listeners and children; s() does the same for SVG.  Text is always set as
// text nodes, never parsed as HTML, so mail content cannot inject markup;
// styles go through the CSSOM, so the console runs under a CSP without
// 'unsafe-inline'.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, unknown>;

function setAttrs(el: Element, attrs: Attrs | null | undefined): void {
	if (!attrs)
		return;
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith("on") && typeof v === "function") {
			el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
		} else if (k === "style") {
			// Through the CSSOM: the server's Content-Security-Policy
			// (style-src 'self') refuses style attributes set as markup.
			(el as HTMLElement | SVGElement).style.cssText = String(v);
		} else if (k === "value" && "value" in el) {
			(el as HTMLInputElement).value = String(v);
		} else if (k === "checked" && "checked" in el) {
			(el as HTMLInputElement).checked = Boolean(v);
		} else {
			el.setAttribute(k, v === true ? "" : String(v));
		}
	}
}

function append(el: Element, children: Child[]): void {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.appendChild(c);
		else
			el.appendChild(document.createTextNode(String(c)));
	}
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null,
    ...children: Child[]): HTMLElementTagNameMap[K] {
	const el = document.createElement(tag);
	setAttrs(el, attrs);
	append(el, children);
	return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function s(tag: string, attrs?: Attrs | null, ...children: Child[]): SVGElement {
	const el = document.createElementNS(SVG_NS, tag) as SVGElement;
	setAttrs(el, attrs);
	append(el, children);
	return el;
}

export function clear(el: Element): void {
	while (el.firstChild)
		el.removeChild(el.firstChild);
}

// A unique id for label/for and aria references.
let nextId = 0;
export function uid(prefix = "f"): string {
	return `${prefix}-${++nextId}`;
}

// field(): a labelled form control; the label always points at the control.
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
	if (!control.id)
		control.id = uid();
	let hintEl: HTMLElement | null = null;
	if (hint) {
		hintEl = h("small", { class: "hint", id: uid("hint") }, hint);
		control.setAttribute("aria-describedby", hintEl.id);
	}
	return h("div", { class: "field" },
	    h("label", { for: control.id }, label), control, hintEl);
}
