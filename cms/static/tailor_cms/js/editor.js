/* Tailor's page editor: what every condition and variant targets, warnings, policy-aware fields.
 *
 * Wagtail builds StreamField forms from block definitions sent through telepath; the Python adapters
 * (`rules.blocks.ConditionBlockAdapter`, `variants.blocks.VariantBlockAdapter`,
 * `variants.blocks.PersonalizedBlockAdapter`) name the constructors registered here, subclasses of
 * Wagtail's own StructBlock. They pass every word shown, translated for the editor, in the block's meta.
 *
 * - A condition's collapsed header (and the minimap) reads what it checks: "Rain, 5–25 °C", "Not: Mobile".
 * - A variant's header reads its name and its conditions in short, with badges: its priority under
 *   Rules ("#2"), its share under A/B ("40%"), "Everyone" when it has no conditions, "Incomplete".
 * - The region asks the server (`cms.editor_checks`) for warnings: a variant that can never win under
 *   Rules (proven by the engine), identical conditions, everyone-first, incomplete; shown at the variant.
 * - Fields follow the policy: learning options only for Bandit and Contextual, the contextual ones only
 *   for Contextual, weights (with the share they make) only for A/B.
 */
(() => {
  'use strict';

  const sf = window.wagtailStreamField && window.wagtailStreamField.blocks;
  if (!sf || !window.telepath || window.tailorEditor) return;
  const { StructBlock, StructBlockDefinition } = sf;

  const PLACEHOLDER = /%\((\w+)\)s/g; // Django's named placeholders, as in the Python strings
  const fill = (text, values) => text.replace(PLACEHOLDER, (_, key) => (values[key] ?? '').toString());
  const placeholders = (text) => Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]);
  const clip = (text, opts) => {
    const max = opts && opts.maxLength;
    return max && text.length > max ? `${text.slice(0, max - 1)}…` : text;
  };
  const isEmpty = (value) =>
    value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
  const lang = () => document.documentElement.lang || undefined;
  const percent = (share) => new Intl.NumberFormat(lang(), { style: 'percent', maximumFractionDigits: 0 }).format(share);

  /** A field's value as a summary writes it ('' when empty). */
  function shown(block, name, format) {
    const child = block.childBlocks[name];
    if (!child || format === 'flag') return '';
    const value = child.getValue();
    if (isEmpty(value)) return '';
    const widget = child.widget;
    if (widget && widget.getValueForLabel && (Array.isArray(value) || (widget.input && widget.input.tagName === 'SELECT'))) {
      return String(widget.getValueForLabel()).trim();
    }
    const number = Number(value);
    if (format === 'time') return String(value).slice(0, 5);
    if (format === 'percent' && Number.isFinite(number)) return percent(number);
    if (format === 'number' && Number.isFinite(number)) return new Intl.NumberFormat(lang()).format(number);
    return String(value).trim();
  }

  /** What a condition block checks, from its live form values (the same rules as ConditionBlock.summarize). */
  function conditionSummary(block) {
    const spec = block.blockDef.meta.tailorSummary;
    const texts = {};
    const flags = {};
    Object.keys(block.childBlocks).forEach((name) => {
      if (spec.formats[name] === 'flag') flags[name] = !!block.childBlocks[name].getValue();
      else texts[name] = shown(block, name, spec.formats[name]);
    });
    let text = null;
    for (const summary of spec.summaries) {
      if (
        placeholders(summary.text).every((n) => texts[n]) &&
        summary.when.every((n) => flags[n]) &&
        !summary.unless.some((n) => flags[n])
      ) {
        text = fill(summary.text, texts);
        break;
      }
    }
    if (text === null) text = Object.values(texts).filter(Boolean).join(', ');
    if (text && flags.negate) text = fill(spec.negated, { summary: text });
    return text;
  }

  /** The header title element of the sequence child (list or stream item) holding `element`. */
  function headingText(element) {
    const child = element && element.closest('[data-streamfield-child]');
    return child && child.querySelector('[data-panel-heading-text]');
  }

  /** The wrapper of a StructBlock's child field, to show or hide it. */
  function fieldWrapper(structBlock, name) {
    const root = structBlock.container && structBlock.container[0];
    return root && root.querySelector(`:scope > [data-contentpath="${name}"]`);
  }

  /** Show or hide a field; a hidden panel also leaves the minimap (which lists `[data-panel-anchor]`).
   * Returns whether anything changed. */
  function show(element, visible) {
    if (!element || element.hidden === !visible) return false;
    element.hidden = !visible;
    element.classList.toggle('tailor-hidden-by-policy', !visible);
    const anchors = element.querySelectorAll(visible ? '[data-tailor-panel-anchor]' : '[data-panel-anchor]');
    anchors.forEach((anchor) => {
      anchor.toggleAttribute('data-panel-anchor', visible);
      anchor.toggleAttribute('data-tailor-panel-anchor', !visible);
    });
    return true;
  }

  class ConditionBlock extends StructBlock {
    constructor(...args) {
      super(...args);
      const root = this.container[0];
      const update = () => {
        const title = headingText(root);
        const text = this.getTextLabel({ maxLength: 70 });
        if (title && title.textContent !== text) {
          title.textContent = text;
          root.dispatchEvent(new CustomEvent('wagtail:panel-init', { bubbles: true })); // the minimap re-reads
        }
      };
      root.addEventListener('input', update);
      root.addEventListener('change', update);
    }

    getTextLabel(opts) {
      return clip(conditionSummary(this), opts);
    }
  }

  class VariantBlock extends StructBlock {
    get tailor() {
      return this.blockDef.meta.tailorVariant;
    }

    conditionSummaries() {
      const stream = this.childBlocks.conditions;
      return (stream ? stream.children : [])
        .map((child) => (child.block && child.block.getTextLabel ? child.block.getTextLabel() : ''))
        .filter(Boolean);
    }

    hasConditions() {
      const stream = this.childBlocks.conditions;
      return !!(stream && stream.children.length);
    }

    isComplete() {
      const name = (this.childBlocks.name.getValue() || '').trim();
      const content = this.childBlocks.content;
      return !!name && !!(content && content.children.length);
    }

    getTextLabel(opts) {
      const name = (this.childBlocks.name.getValue() || '').trim() || this.tailor.unnamed;
      const match = this.childBlocks.match ? this.childBlocks.match.getValue() : 'all';
      const conditions = this.conditionSummaries().join(this.tailor.separator[match === 'any' ? 'any' : 'all']);
      return clip(conditions ? `${name} — ${conditions}` : name, opts);
    }
  }

  class PersonalizedBlock extends StructBlock {
    constructor(...args) {
      super(...args);
      this.tailorState = { timer: null, checkTimer: null, sequence: 0, lastPayload: null, warnings: {} };
      const root = this.container[0];
      // Wagtail labels a nested StructBlock only when it is not of its parent's class; the learning
      // options already have their panel heading.
      const optionsLabel = root.querySelector(':scope > [data-contentpath="options"] > label.w-field__label');
      if (optionsLabel) optionsLabel.remove();
      const schedule = () => this.scheduleRefresh();
      root.addEventListener('input', schedule);
      root.addEventListener('change', schedule);
      // Variants and conditions added, removed or moved; our own badges and warnings do not count.
      this.observer = new MutationObserver((records) => {
        if (records.some((r) => !(r.target.closest && r.target.closest('.tailor-ui, [data-panel-heading-text]')))) {
          schedule();
        }
      });
      this.observer.observe(root, { childList: true, subtree: true });
      this.scheduleRefresh(0);
    }

    get tailor() {
      return this.blockDef.meta.tailorSlot;
    }

    scheduleRefresh(delay = 50) {
      clearTimeout(this.tailorState.timer);
      this.tailorState.timer = setTimeout(() => this.refresh(), delay);
    }

    variants() {
      const list = this.childBlocks.variants;
      return list ? list.children : [];
    }

    refresh() {
      const { policies, learningPolicies, contextualOptions, strings } = this.tailor;
      const policy = this.childBlocks.policy.getValue();
      const ab = policy === policies.ab;
      const rules = policy === policies.rules;

      // Fields that follow the policy.
      let changed = show(fieldWrapper(this, 'options'), learningPolicies.includes(policy));
      const options = this.childBlocks.options;
      if (options) contextualOptions.forEach((name) => show(fieldWrapper(options, name), policy === policies.contextual));

      const children = this.variants();
      const complete = children.map((child) => child.block.isComplete());
      const weights = children.map((child) => {
        const weight = Number(child.block.childBlocks.weight ? child.block.childBlocks.weight.getValue() : 1);
        return Number.isFinite(weight) && weight > 0 ? weight : 0;
      });
      const total = weights.reduce((sum, w, i) => sum + (complete[i] ? w : 0), 0);

      let priority = 0;
      children.forEach((child, i) => {
        const variant = child.block;
        const share = complete[i] && total ? weights[i] / total : 0;
        show(fieldWrapper(variant, 'weight'), ab);
        this.shareHint(variant, ab ? fill(strings.shareHint, { share: percent(share) }) : '');

        const badges = [];
        if (!complete[i]) {
          badges.push({ text: strings.incomplete, title: strings.incompleteTitle, kind: 'incomplete' });
        } else {
          priority += 1;
          if (rules) badges.push({ text: fill(strings.priority, { n: priority }), title: strings.priorityTitle, kind: 'priority' });
          if (ab) badges.push({ text: percent(share), title: strings.shareTitle, kind: 'share' });
        }
        if (!variant.hasConditions()) {
          badges.push({ text: strings.everyone, title: strings.everyoneTitle, kind: 'everyone' });
        }
        const warnings = (this.tailorState.warnings[child.id] || []).filter((w) => w.code !== 'incomplete' || complete[i] === false);
        warnings.forEach((w) => {
          if (!badges.some((b) => b.text === w.badge)) badges.push({ text: w.badge, title: w.message, kind: 'warning' });
        });

        const title = variant.getTextLabel({ maxLength: 70 });
        if (child.titleElement && child.titleElement.text() !== title) {
          child.titleElement.text(title);
          changed = true;
        }
        this.renderBadges(child, badges);
        this.renderWarnings(variant, warnings);
      });
      // The minimap re-reads the panels' headings on this event (debounced by Wagtail).
      if (changed) this.container[0].dispatchEvent(new CustomEvent('wagtail:panel-init', { bubbles: true }));
      this.scheduleCheck();
    }

    shareHint(variant, text) {
      const wrapper = fieldWrapper(variant, 'weight');
      if (!wrapper) return;
      let hint = wrapper.querySelector(':scope > .tailor-share');
      if (!hint) {
        hint = document.createElement('p');
        hint.className = 'tailor-share tailor-ui';
        wrapper.append(hint);
      }
      hint.textContent = text;
    }

    renderBadges(child, badges) {
      const title = child.titleElement && child.titleElement[0];
      if (!title) return;
      let holder = title.parentElement.querySelector(':scope > .tailor-badges');
      if (!holder) {
        holder = document.createElement('span');
        holder.className = 'tailor-badges tailor-ui';
        title.after(holder);
      }
      holder.replaceChildren(
        ...badges.map((badge) => {
          const span = document.createElement('span');
          span.className = `tailor-badge tailor-badge--${badge.kind}`;
          span.textContent = badge.text;
          span.title = badge.title || '';
          return span;
        }),
      );
    }

    renderWarnings(variant, warnings) {
      const root = variant.container[0];
      let box = root.querySelector(':scope > .tailor-warnings');
      if (!box) {
        box = document.createElement('div');
        box.className = 'tailor-warnings tailor-ui';
        box.setAttribute('role', 'status');
        box.setAttribute('aria-label', this.tailor.strings.warnings);
        root.prepend(box);
      }
      box.hidden = !warnings.length;
      box.replaceChildren(
        ...warnings.map((w) => {
          const p = document.createElement('p');
          p.className = `tailor-warning tailor-warning--${w.code}`;
          p.dataset.code = w.code;
          p.textContent = w.message;
          return p;
        }),
      );
    }

    payload() {
      return {
        policy: this.childBlocks.policy.getValue(),
        variants: this.variants().map((child) => {
          const variant = child.block;
          const conditions = variant.childBlocks.conditions ? variant.childBlocks.conditions.children : [];
          return {
            id: child.id,
            name: variant.childBlocks.name.getValue() || '',
            content: variant.childBlocks.content ? variant.childBlocks.content.children.length : 0,
            match: variant.childBlocks.match ? variant.childBlocks.match.getValue() : 'all',
            conditions: conditions.map((c) => ({ type: c.type, value: c.block.getValue() })),
          };
        }),
      };
    }

    scheduleCheck() {
      if (!this.tailor.checksUrl) return;
      const body = JSON.stringify(this.payload());
      if (body === this.tailorState.lastPayload) return;
      clearTimeout(this.tailorState.checkTimer);
      this.tailorState.checkTimer = setTimeout(() => this.check(body), 250);
    }

    async check(body) {
      const sequence = ++this.tailorState.sequence;
      const config = window.wagtailConfig || {};
      const headers = { 'Content-Type': 'application/json' };
      if (config.CSRF_HEADER_NAME) headers[config.CSRF_HEADER_NAME] = config.CSRF_TOKEN;
      let answer;
      try {
        const response = await fetch(this.tailor.checksUrl, { method: 'POST', headers, body, credentials: 'same-origin' });
        if (!response.ok) return;
        answer = await response.json();
      } catch (e) {
        return; // offline or signed out: no warnings, nothing breaks
      }
      if (sequence !== this.tailorState.sequence) return; // a newer check is on its way
      this.tailorState.lastPayload = body;
      this.tailorState.warnings = Object.fromEntries(
        Object.entries(answer.variants || {}).map(([id, v]) => [id, v.warnings || []]),
      );
      this.container[0].dataset.tailorChecked = String(sequence);
      this.refresh();
    }
  }

  const definition = (Block) =>
    class extends StructBlockDefinition {
      render(placeholder, prefix, initialState, initialError) {
        return new Block(this, placeholder, prefix, initialState, initialError);
      }
    };

  window.telepath.register('tailor.blocks.ConditionBlock', definition(ConditionBlock));
  window.telepath.register('tailor.blocks.VariantBlock', definition(VariantBlock));
  window.telepath.register('tailor.blocks.PersonalizedBlock', definition(PersonalizedBlock));
  window.tailorEditor = { conditionSummary };
})();
