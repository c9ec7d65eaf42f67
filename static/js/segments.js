// The segment builder: renders the definition in #id_definition as nested
// groups of conditions, writes every edit back to it as JSON, and tells htmx
// (event "segment-changed" on body) to refresh the live count, debounced there.
(() => {
  // One builder on `root`, editing the definition in `textarea`. The
  // journey builder mounts one per split branch (window.MunjaSegmentBuilder).
  function mount(root, textarea, config) {
    const L = config.labels;
    const readonly = root.dataset.readonly === "true";
    const fieldType = Object.fromEntries(config.fields.map((f) => [f.name, f.type]));
    const VALUELESS = ["is_set", "is_not_set"];

    let state;
    try {
      state = JSON.parse(textarea.value || "{}");
    } catch {
      state = null;
    }
    if (!state || typeof state !== "object" || !Array.isArray(state.conditions)) {
      state = { match: "all", conditions: [] };
    }

    const defaults = {
      attribute: () => ({ kind: "attribute", field: "country", op: "eq", value: "" }),
      tag: () => ({ kind: "tag", key: "", op: "eq", value: "" }),
      event: () => ({ kind: "event", type: "", performed: true, min_count: 1 }),
      phone: () => ({ kind: "phone", present: true }),
      optout: () => ({ kind: "optout", opted_out: false }),
      consent: () => ({ kind: "consent", type: "promotional", given: true }),
    };

    function changed() {
      textarea.value = JSON.stringify(state);
      document.body.dispatchEvent(new CustomEvent("segment-changed"));
    }

    function el(tag, attrs = {}, ...children) {
      const node = document.createElement(tag);
      for (const [key, value] of Object.entries(attrs)) {
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else node.setAttribute(key, value);
      }
      for (const child of children) if (child) node.append(child);
      if (readonly && ["INPUT", "SELECT"].includes(node.tagName)) node.disabled = true;
      return node;
    }

    function select(options, current, onChange, cls) {
      const node = el("select", { class: cls || "" });
      for (const [value, label] of options) {
        const option = el("option", { value: String(value), text: label });
        if (String(value) === String(current)) option.selected = true;
        node.append(option);
      }
      node.addEventListener("change", () => onChange(node.value));
      return node;
    }

    function input(current, placeholder, onInput, type = "text", cls = "") {
      const node = el("input", { type, placeholder, class: cls, "aria-label": placeholder });
      node.value = current ?? "";
      node.addEventListener("input", () => onInput(node.value));
      return node;
    }

    function button(label, cls, onClick) {
      if (readonly) return null;
      const node = el("button", { type: "button", class: `secondary ${cls}`, text: label });
      node.addEventListener("click", onClick);
      return node;
    }

    // A number typed as text stays a number in JSON ("80" → 80).
    function typed(text) {
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    }

    function render() {
      root.replaceChildren(renderGroup(state, null));
    }

    function structural(fn) {
      return (...args) => {
        fn(...args);
        render();
        changed();
      };
    }

    function renderGroup(group, parent) {
      const box = el("div", { class: parent ? "segment-group nested" : "segment-group" });
      const head = el(
        "div",
        { class: "segment-group-head" },
        el("span", { text: L.match }),
        select(
          [["all", L.all], ["any", L.any]],
          group.match,
          structural((v) => (group.match = v)),
          "segment-match",
        ),
      );
      const list = el("div", { class: "segment-conditions" });
      if (!group.conditions.length) list.append(el("p", { class: "muted", text: L.empty }));
      group.conditions.forEach((child, index) => {
        const remove = () => group.conditions.splice(index, 1);
        const isGroup = child && (child.kind === "group" || (!child.kind && child.conditions));
        list.append(isGroup ? renderGroup(child, { remove }) : renderCondition(group, index, remove));
      });
      const tools = el(
        "div",
        { class: "segment-tools" },
        button(L.addCondition, "segment-add-condition", structural(() => group.conditions.push(defaults.attribute()))),
        button(L.addGroup, "segment-add-group", structural(() => group.conditions.push({ match: "any", conditions: [defaults.attribute()] }))),
        parent ? button(L.remove, "segment-remove-group", structural(parent.remove)) : null,
      );
      box.append(head, list, tools);
      return box;
    }

    function renderCondition(group, index, remove) {
      const cond = group.conditions[index];
      const kinds = Object.entries(L.kinds);
      const row = el(
        "div",
        { class: "segment-condition", "data-kind": cond.kind },
        select(kinds, cond.kind, structural((v) => (group.conditions[index] = defaults[v]())), "segment-kind"),
      );
      const editors = { attribute, tag, event, phone, optout, consent };
      if (editors[cond.kind]) editors[cond.kind](cond, row);
      const removeButton = button(L.remove, "segment-remove", structural(remove));
      if (removeButton) row.append(removeButton);
      return row;
    }

    function opSelect(cond, ops, target = cond) {
      return select(
        ops.map((op) => [op, config.opLabels[op] || op]),
        target.op,
        structural((v) => {
          target.op = v;
          if (VALUELESS.includes(v)) delete target.value;
          else if (target.value === undefined) target.value = "";
        }),
        "segment-op",
      );
    }

    function attribute(cond, row) {
      const type = fieldType[cond.field] || "text";
      row.append(
        select(
          config.fields.map((f) => [f.name, f.label]),
          cond.field,
          structural((v) => {
            cond.field = v;
            const ops = config.attributeOps[fieldType[v]];
            if (!ops.includes(cond.op)) cond.op = ops[0];
            cond.value = "";
          }),
          "segment-field",
        ),
        opSelect(cond, config.attributeOps[type]),
      );
      if (VALUELESS.includes(cond.op)) return;
      if (cond.op === "within_days") {
        row.append(input(cond.value, L.value, (v) => { cond.value = v === "" ? "" : Number(v); changed(); }, "number", "segment-value"));
      } else {
        const inputType = type === "text" ? "text" : "date";
        row.append(input(cond.value, L.value, (v) => { cond.value = v; changed(); }, inputType, "segment-value"));
      }
    }

    function tag(cond, row) {
      row.append(input(cond.key, L.tagKey, (v) => { cond.key = v; changed(); }, "text", "segment-tag-key"));
      row.append(opSelect(cond, config.tagOps));
      if (!VALUELESS.includes(cond.op)) {
        row.append(input(cond.value, L.value, (v) => { cond.value = v; changed(); }, "text", "segment-value"));
      }
    }

    function event(cond, row) {
      row.append(
        input(cond.type, L.eventType, (v) => { cond.type = v; changed(); }, "text", "segment-event-type"),
        select([["true", L.performed], ["false", L.notPerformed]], cond.performed !== false,
          (v) => { cond.performed = v === "true"; changed(); }, "segment-performed"),
        el("span", { text: L.atLeast }),
        input(cond.min_count ?? 1, L.atLeast, (v) => { cond.min_count = Number(v) || 1; changed(); }, "number", "segment-min-count"),
        el("span", { text: L.times }),
        input(cond.within_days ?? "", L.withinDays, (v) => {
          if (v === "") delete cond.within_days;
          else cond.within_days = Number(v);
          changed();
        }, "number", "segment-within-days"),
      );
      const where = cond.where || { field: "", op: "eq", value: "" };
      const sync = () => {
        if (where.field) cond.where = where;
        else delete cond.where;
        changed();
      };
      row.append(
        input(where.field, L.whereField, (v) => { where.field = v; sync(); }, "text", "segment-where-field"),
        select(config.eventDataOps.map((op) => [op, config.opLabels[op]]), where.op,
          (v) => { where.op = v; sync(); }, "segment-where-op"),
        input(where.value, L.value, (v) => { where.value = typed(v); sync(); }, "text", "segment-where-value"),
      );
    }

    function phone(cond, row) {
      row.append(select([["true", L.hasPhone], ["false", L.noPhone]], cond.present,
        (v) => { cond.present = v === "true"; changed(); }, "segment-present"));
    }

    function optout(cond, row) {
      row.append(select([["true", L.optedOut], ["false", L.notOptedOut]], cond.opted_out,
        (v) => { cond.opted_out = v === "true"; changed(); }, "segment-opted-out"));
    }

    function consent(cond, row) {
      row.append(
        select([["promotional", L.promotional], ["night", L.night]], cond.type,
          (v) => { cond.type = v; changed(); }, "segment-consent-type"),
        select([["true", L.given], ["false", L.notGiven]], cond.given,
          (v) => { cond.given = v === "true"; changed(); }, "segment-given"),
      );
    }

    // Hand edits of the JSON redraw the builder once they parse.
    textarea.addEventListener("input", () => {
      try {
        const parsed = JSON.parse(textarea.value);
        if (parsed && Array.isArray(parsed.conditions)) {
          state = parsed;
          render();
        }
      } catch {
        // Not JSON yet; the live count shows where it breaks.
      }
      document.body.dispatchEvent(new CustomEvent("segment-changed"));
    });

    render();
  }

  window.MunjaSegmentBuilder = { mount };
  const root = document.getElementById("segment-builder");
  const textarea = document.getElementById("id_definition");
  const configNode = document.getElementById("segment-builder-config");
  if (!root || !textarea || !configNode) return;
  mount(root, textarea, JSON.parse(configNode.textContent));

  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
})();
