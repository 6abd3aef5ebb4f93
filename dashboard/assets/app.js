// The llm_router dashboard: polls api/status (relative, so it works under
// any path prefix) every second and renders it. No dependencies; every
// text goes in through textContent.
'use strict';

(() => {
	const REFRESH_MS = 1000;
	const STEP = 5; // seconds per chart point
	const KEY_ROWS = 200; // keys rendered at most (the filter finds the others)

	const $ = (id) => document.getElementById(id);

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	}

	function svgEl(tag, attrs) {
		const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
		for (const k in attrs) e.setAttribute(k, attrs[k]);
		return e;
	}

	// Formatting

	function compact(n) {
		if (n === null || n === undefined || !isFinite(n)) return '–';
		const a = Math.abs(n);
		if (a < 1000) return String(Math.round(n));
		const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
		for (const [v, u] of units) {
			if (a >= v) {
				const x = n / v;
				return String(+x.toFixed(Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2)) + u;
			}
		}
		return String(n);
	}

	function rate(v) {
		if (!isFinite(v)) return '–';
		if (v === 0) return '0';
		if (v >= 100) return compact(v);
		if (v >= 10) return v.toFixed(1);
		return v.toFixed(2);
	}

	// axis labels round numbers: no trailing zeros.
	function axis(v) {
		return v >= 1000 ? compact(v) : String(+v.toPrecision(3));
	}

	function usd(v) {
		if (v === null || v === undefined || !isFinite(v)) return '–';
		if (v === 0) return '$0';
		const a = Math.abs(v);
		if (a >= 1000) return '$' + compact(v);
		if (a >= 0.1) return '$' + v.toFixed(2);
		if (a >= 0.01) return '$' + v.toFixed(3);
		if (a < 0.000001) return '<$0.000001';
		return '$' + String(+v.toPrecision(2));
	}

	function millis(ms) {
		if (ms === null || ms === undefined || !isFinite(ms)) return '–';
		if (ms === 0) return '0 ms';
		if (ms < 1) return ms.toFixed(2) + ' ms';
		if (ms < 10) return ms.toFixed(1) + ' ms';
		if (ms < 1000) return Math.round(ms) + ' ms';
		return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
	}

	function span(seconds) {
		seconds = Math.max(0, Math.round(seconds));
		if (seconds < 60) return seconds + ' s';
		const m = Math.floor(seconds / 60), s = seconds % 60;
		if (m < 60) return m + ' min' + (s ? ' ' + s + ' s' : '');
		const h = Math.floor(m / 60);
		return h + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
	}

	function clock(ms) {
		return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
	}

	function percent(part, whole) {
		if (!whole) return '0%';
		const p = 100 * part / whole;
		return (p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + '%';
	}

	// Live indicator

	function setLive(ok, text) {
		const live = $('live');
		live.dataset.live = ok ? 'ok' : 'down';
		$('live-text').textContent = text;
	}

	// Summary

	function sumRange(arr, from, to) {
		let s = 0;
		for (let i = Math.max(0, from); i < Math.min(arr.length, to); i++) s += arr[i] || 0;
		return s;
	}

	function renderKPIs(s) {
		const sr = s.series, n = sr.requests.length, done = n - 1; // the last second still counts
		const rps = sumRange(sr.requests, done - 10, done) / 10;
		$('kpi-rps').textContent = rate(rps);
		const hits = sumRange(sr.cache_hits, 0, n), all = sumRange(sr.requests, 0, n);
		$('kpi-rps-note').textContent = 'last 10 s' + (hits ? ' · ' + percent(hits, all) + ' from cache' : '');

		const req5 = sumRange(sr.requests, done - 300, done + 1);
		const err5 = sumRange(sr.errors, done - 300, done + 1);
		const errEl = $('kpi-err');
		errEl.textContent = percent(err5, req5);
		errEl.className = 'kpi-value' + (err5 && err5 / req5 >= 0.05 ? ' bad' : err5 ? ' warn' : '');
		$('kpi-err-note').textContent = compact(err5) + ' of ' + compact(req5) + ' in 5 min';

		let wsum = 0, w = 0;
		for (let i = Math.max(0, n - 300); i < n; i++) {
			if (sr.requests[i] && sr.ttfb_ms[i]) { wsum += sr.ttfb_ms[i] * sr.requests[i]; w += sr.requests[i]; }
		}
		$('kpi-ttfb').textContent = w ? millis(wsum / w) : '–';

		const pin = sumRange(sr.prompt_tokens, 0, n), pout = sumRange(sr.completion_tokens, 0, n);
		$('kpi-tok').textContent = compact(pin + pout);
		$('kpi-tok-note').textContent = compact(pin) + ' in · ' + compact(pout) + ' out, 15 min';
		$('kpi-cost').textContent = usd(sumRange(sr.cost_usd, 0, n));

		const total = s.targets.length, healthy = s.targets.filter((t) => t.healthy).length;
		const h = $('kpi-health');
		h.textContent = total ? healthy + ' / ' + total : '–';
		h.className = 'kpi-value' + (healthy < total ? ' bad' : '');
		$('kpi-health-note').textContent = !total ? 'no targets' : healthy === total ? 'all healthy' : (total - healthy) + ' in cooldown';
	}

	// Targets: one card per name, kept across updates.

	const cards = new Map();

	function metric(dl, label) {
		const d = el('div');
		d.append(el('dt', '', label));
		const dd = el('dd', '', '–');
		d.append(dd);
		dl.append(d);
		return dd;
	}

	function makeCard(name) {
		const root = el('article', 'target');
		root.dataset.target = name;
		const head = el('div', 'target-head');
		const title = el('h3', 'target-name', name);
		title.title = name;
		const badge = el('span', 'badge', 'Healthy');
		head.append(title, badge);
		const until = el('p', 'until');
		until.hidden = true;
		const dl = el('dl', 'metrics');
		const c = {
			root, badge, until,
			latency: metric(dl, 'Latency'),
			inflight: metric(dl, 'In flight'),
			requests: metric(dl, 'Requests'),
			errors: metric(dl, 'Errors'),
		};
		const ratio = el('div', 'ratio');
		c.ok = el('span', 'ok');
		c.bad = el('span', 'bad');
		ratio.append(c.ok, c.bad);
		ratio.title = 'successful vs failed requests, last 5 minutes';
		root.append(head, until, dl, ratio);
		return c;
	}

	function updateCard(c, t, now) {
		const cooling = !t.healthy;
		c.root.dataset.state = cooling ? 'cooldown' : 'healthy';
		c.badge.textContent = cooling ? 'Cooldown' : 'Healthy';
		if (cooling && t.cooldown_until) {
			const until = Date.parse(t.cooldown_until);
			c.until.textContent = 'In cooldown until ' + clock(until) + ' · ' + span((until - now) / 1000) + ' left';
			c.until.hidden = false;
		} else {
			c.until.hidden = true;
		}
		c.latency.textContent = t.latency_ms === null ? '–' : millis(t.latency_ms);
		c.inflight.textContent = String(t.in_flight);
		c.requests.textContent = compact(t.requests_5m);
		c.errors.textContent = compact(t.errors_5m);
		c.errors.className = t.errors_5m ? 'bad' : '';
		c.errors.title = percent(t.errors_5m, t.requests_5m) + ' of requests';
		const okShare = t.requests_5m ? 100 * (t.requests_5m - t.errors_5m) / t.requests_5m : 0;
		const badShare = t.requests_5m ? 100 * t.errors_5m / t.requests_5m : 0;
		c.ok.style.width = okShare + '%';
		c.bad.style.width = badShare + '%';
	}

	function renderTargets(targets, now) {
		const box = $('targets');
		const seen = new Set();
		targets.forEach((t, i) => {
			let c = cards.get(t.name);
			if (!c) {
				c = makeCard(t.name);
				cards.set(t.name, c);
			}
			seen.add(t.name);
			if (box.children[i] !== c.root) box.insertBefore(c.root, box.children[i] || null);
			updateCard(c, t, now);
		});
		for (const [name, c] of cards) {
			if (!seen.has(name)) {
				c.root.remove();
				cards.delete(name);
			}
		}
		$('no-targets').hidden = targets.length > 0;
	}

	// Charts

	const W = 600, H = 150;

	// binned turns the per-second series into STEP-second points, complete
	// seconds only.
	function binned(sr) {
		const n = sr.requests.length - 1; // drop the current second
		const bins = Math.floor(n / STEP), off = n - bins * STEP;
		const out = { time: [], requests: [], errors: [], prompt: [], completion: [], cost: [], ttfb: [], duration: [] };
		let cum = 0;
		for (let i = 0; i < off; i++) cum += sr.cost_usd[i] || 0;
		for (let b = 0; b < bins; b++) {
			let req = 0, err = 0, p = 0, c = 0, ttfbW = 0, durW = 0;
			for (let k = 0; k < STEP; k++) {
				const i = off + b * STEP + k;
				const r = sr.requests[i] || 0;
				req += r;
				err += sr.errors[i] || 0;
				p += sr.prompt_tokens[i] || 0;
				c += sr.completion_tokens[i] || 0;
				cum += sr.cost_usd[i] || 0;
				ttfbW += (sr.ttfb_ms[i] || 0) * r;
				durW += (sr.duration_ms[i] || 0) * r;
			}
			out.time.push((sr.start + off + (b + 1) * STEP - 1) * 1000);
			out.requests.push(req / STEP);
			out.errors.push(err / STEP);
			out.prompt.push(p / STEP);
			out.completion.push(c / STEP);
			out.cost.push(cum);
			out.ttfb.push(req && ttfbW ? ttfbW / req : null);
			out.duration.push(req && durW ? durW / req : null);
		}
		return out;
	}

	// nice rounds a maximum up to 1, 2, 2.5 or 5 times a power of ten.
	function nice(v) {
		if (!(v > 0)) return 1;
		const p = Math.pow(10, Math.floor(Math.log10(v)));
		for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
		return 10 * p;
	}

	class Chart {
		constructor(fig, opts) {
			this.opts = opts;
			const head = el('figcaption', 'chart-head');
			head.append(el('span', 'chart-title', opts.title));
			this.value = el('span', 'chart-value', '–');
			head.append(this.value);
			const legend = el('div', 'legend');
			for (const s of opts.series) {
				const item = el('span');
				item.append(el('i', s.cls), document.createTextNode(s.label));
				legend.append(item);
			}
			this.plot = el('div', 'plot');
			this.svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': opts.title });
			this.ymax = el('span', 'ymax');
			this.ymid = el('span', 'ymid');
			this.cursor = el('div', 'cursor');
			this.cursor.hidden = true;
			this.plot.append(this.svg, this.ymax, this.ymid, this.cursor);
			const x = el('div', 'xaxis');
			for (const t of ['15 min ago', '10 min', '5 min', 'now']) x.append(el('span', '', t));
			fig.append(head, legend, this.plot, x);
			this.plot.addEventListener('mousemove', (e) => this.hover(e));
			this.plot.addEventListener('mouseleave', () => this.leave());
		}

		update(data) {
			this.data = data;
			const o = this.opts, n = data.time.length;
			let max = 0;
			for (let i = 0; i < n; i++) {
				let stack = 0;
				for (const s of o.series) {
					const v = data[s.key][i] || 0;
					if (o.stacked) stack += v; else max = Math.max(max, v);
				}
				max = Math.max(max, stack);
			}
			max = nice(max * 1.1);
			this.max = max;
			const af = o.axis || axis;
			this.ymax.textContent = af(max);
			this.ymid.textContent = af(max / 2);
			this.value.textContent = o.headline(data);

			const x = (i) => (n > 1 ? (i / (n - 1)) * W : 0);
			const y = (v) => H - (v / max) * H;
			const frag = document.createDocumentFragment();
			for (const g of [0, 0.5]) {
				frag.append(svgEl('line', { x1: 0, x2: W, y1: g * H, y2: g * H, class: 'gridline', 'vector-effect': 'non-scaling-stroke' }));
			}
			frag.append(svgEl('line', { x1: 0, x2: W, y1: H, y2: H, class: 'gridline', 'vector-effect': 'non-scaling-stroke' }));
			const base = new Array(n).fill(0);
			// Stacked series bottom up; others last first, so the main
			// series is drawn on top where they meet (errors at zero).
			const order = o.stacked ? o.series : o.series.slice().reverse();
			for (const s of order) {
				const top = [];
				for (let i = 0; i < n; i++) {
					const v = data[s.key][i];
					top.push(v === null ? null : (o.stacked ? base[i] : 0) + v);
				}
				if (s.area) frag.append(svgEl('path', { d: areaPath(top, o.stacked ? base : null, x, y), class: 'area ' + s.cls }));
				frag.append(svgEl('path', { d: linePath(top, x, y), class: 'line ' + s.cls, 'vector-effect': 'non-scaling-stroke' }));
				if (o.stacked) for (let i = 0; i < n; i++) base[i] = top[i] || base[i];
			}
			this.svg.replaceChildren(frag);
			if (this.hoverIndex !== undefined) this.showTip();
		}

		hover(e) {
			if (!this.data || this.data.time.length < 2) return;
			const r = this.plot.getBoundingClientRect();
			const f = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
			this.hoverIndex = Math.round(f * (this.data.time.length - 1));
			this.mouse = { x: e.clientX, y: e.clientY };
			this.showTip();
		}

		showTip() {
			const d = this.data, i = Math.min(this.hoverIndex, d.time.length - 1);
			const f = i / (d.time.length - 1);
			this.cursor.hidden = false;
			this.cursor.style.left = (f * 100) + '%';
			const tip = $('tip');
			tip.replaceChildren(el('b', '', clock(d.time[i])));
			for (const s of this.opts.series) {
				const v = d[s.key][i];
				tip.append(el('div', '', s.label + ': ' + (v === null ? '–' : this.opts.fmt(v))));
			}
			tip.hidden = false;
			const left = Math.min(this.mouse.x + 14, window.innerWidth - tip.offsetWidth - 8);
			tip.style.left = left + 'px';
			tip.style.top = (this.mouse.y + 14) + 'px';
		}

		leave() {
			this.hoverIndex = undefined;
			this.cursor.hidden = true;
			$('tip').hidden = true;
		}
	}

	function linePath(vals, x, y) {
		let d = '', pen = false;
		vals.forEach((v, i) => {
			if (v === null) { pen = false; return; }
			d += (pen ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1);
			pen = true;
		});
		return d || 'M0 0';
	}

	function areaPath(vals, base, x, y) {
		let d = '', seg = [];
		const flush = () => {
			if (!seg.length) return;
			d += 'M' + x(seg[0]).toFixed(1) + ' ' + y(base ? base[seg[0]] : 0).toFixed(1);
			for (const i of seg) d += 'L' + x(i).toFixed(1) + ' ' + y(vals[i]).toFixed(1);
			for (let k = seg.length - 1; k >= 0; k--) d += 'L' + x(seg[k]).toFixed(1) + ' ' + y(base ? base[seg[k]] : 0).toFixed(1);
			d += 'Z';
			seg = [];
		};
		vals.forEach((v, i) => (v === null ? flush() : seg.push(i)));
		flush();
		return d || 'M0 0';
	}

	const last = (arr) => (arr.length ? arr[arr.length - 1] : 0);
	const sum = (arr) => arr.reduce((a, v) => a + (v || 0), 0);

	const charts = [
		new Chart($('chart-requests'), {
			title: 'Requests / s',
			series: [
				{ key: 'requests', label: 'requests', cls: 's-req', area: true },
				{ key: 'errors', label: 'errors', cls: 's-err' },
			],
			fmt: rate,
			headline: (d) => rate(last(d.requests)),
		}),
		new Chart($('chart-tokens'), {
			title: 'Tokens / s',
			stacked: true,
			series: [
				{ key: 'prompt', label: 'prompt', cls: 's-prompt', area: true },
				{ key: 'completion', label: 'completion', cls: 's-completion', area: true },
			],
			fmt: (v) => (v >= 10 ? compact(v) : rate(v)),
			headline: (d) => compact(last(d.prompt) + last(d.completion)),
		}),
		new Chart($('chart-cost'), {
			title: 'Cost, cumulative',
			series: [{ key: 'cost', label: 'USD since 15 min ago', cls: 's-cost', area: true }],
			fmt: usd,
			axis: usd,
			headline: (d) => usd(last(d.cost)),
		}),
		new Chart($('chart-latency'), {
			title: 'Latency',
			series: [
				{ key: 'ttfb', label: 'time to first byte', cls: 's-ttfb' },
				{ key: 'duration', label: 'whole request', cls: 's-dur' },
			],
			fmt: millis,
			axis: millis,
			headline: (d) => {
				const w = d.ttfb.filter((v) => v !== null);
				return w.length ? millis(sum(w) / w.length) : '–';
			},
		}),
	];

	// Keys

	let keysData = [];

	// level colours a bar by how full it is, in percent.
	function level(share) {
		return share >= 95 ? 'bad' : share >= 80 ? 'warn' : 'ok';
	}

	function meter(used, limit, label) {
		const cell = el('td', 'bar');
		const lab = el('div', 'bar-label');
		lab.append(el('span', '', compact(used) + (limit ? ' / ' + compact(limit) : '')), el('span', 'sub', limit ? percent(used, limit) : label));
		cell.append(lab);
		if (limit) {
			const track = el('div', 'bar-track');
			const fill = el('span', 'bar-fill');
			const share = Math.min(100, (100 * used) / limit);
			fill.style.width = share + '%';
			fill.classList.add(level(share));
			track.append(fill);
			cell.append(track);
		}
		return cell;
	}

	function budgetCell(budgets) {
		const cell = el('td', 'bar');
		if (!budgets || !budgets.length) {
			cell.append(el('span', 'sub', 'none'));
			return cell;
		}
		for (const b of budgets) {
			const box = el('div', 'budget');
			const lab = el('div', 'bar-label');
			lab.append(el('span', '', b.period), el('span', 'sub', usd(b.spend) + ' / ' + usd(b.limit) + ' · ' + usd(b.remaining) + ' left'));
			const track = el('div', 'bar-track');
			track.title = 'spent ' + usd(b.spend) + ', reserved ' + usd(b.reserved) + ', remaining ' + usd(b.remaining);
			const spent = el('span', 'bar-fill');
			const reserved = el('span', 'bar-reserved');
			const share = b.limit > 0 ? Math.min(100, (100 * b.spend) / b.limit) : 100;
			spent.style.width = share + '%';
			reserved.style.width = (b.limit > 0 ? Math.min(100 - share, (100 * b.reserved) / b.limit) : 0) + '%';
			// What is reserved is as good as spent.
			spent.classList.add(level(b.limit > 0 ? (100 * (b.spend + b.reserved)) / b.limit : 100));
			track.append(spent, reserved);
			box.append(lab, track);
			cell.append(box);
		}
		return cell;
	}

	function renderKeys() {
		const q = $('keys-filter').value.trim().toLowerCase();
		const shown = q ? keysData.filter((k) => k.name.toLowerCase().includes(q)) : keysData;
		const frag = document.createDocumentFragment();
		for (const k of shown.slice(0, KEY_ROWS)) {
			const tr = el('tr');
			tr.dataset.key = k.name;
			tr.append(el('td', 'name', k.name));
			tr.append(meter(k.requests_this_minute, k.rpm, 'no rpm limit'));
			tr.append(meter(k.tokens_this_minute, k.tpm, 'no tpm limit'));
			const last5 = el('td', 'num');
			last5.append(el('div', '', compact(k.requests_5m) + ' req'));
			last5.append(el('div', k.errors_5m ? 'sub err' : 'sub', compact(k.errors_5m) + ' errors'));
			tr.append(last5);
			tr.append(budgetCell(k.budgets));
			frag.append(tr);
		}
		$('keys').replaceChildren(frag);
		const more = shown.length - Math.min(shown.length, KEY_ROWS);
		$('keys-more').hidden = more <= 0;
		$('keys-more').textContent = more > 0 ? '… and ' + more + ' more: filter to find one.' : '';
		$('keys-count').textContent = keysData.length + (keysData.length === 1 ? ' key' : ' keys') + (q ? ', ' + shown.length + ' shown' : '');
	}

	// Discovery

	function renderDiscovery(list, now) {
		const frag = document.createDocumentFragment();
		for (const d of list) {
			const tr = el('tr');
			tr.append(el('td', 'name', d.target));
			tr.append(el('td', 'num', compact(d.models)));
			const when = el('td');
			if (d.last_fetch) {
				const t = Date.parse(d.last_fetch);
				when.textContent = span((now - t) / 1000) + ' ago';
				when.title = new Date(t).toLocaleString();
			} else {
				when.textContent = 'not yet';
			}
			tr.append(when);
			tr.append(d.last_error ? el('td', 'err', d.last_error) : el('td', 'okay', 'OK'));
			frag.append(tr);
		}
		$('discovery').replaceChildren(frag);
	}

	// Polling

	function render(s) {
		const serverNow = Date.parse(s.now);
		renderKPIs(s);
		renderTargets(s.targets, serverNow);
		const data = binned(s.series);
		for (const c of charts) c.update(data);
		$('keys-section').hidden = !s.keys;
		if (s.keys) {
			keysData = s.keys;
			renderKeys();
		}
		$('discovery-section').hidden = !s.discovery;
		if (s.discovery) renderDiscovery(s.discovery, serverNow);
		$('server-time').textContent = 'Server time ' + clock(serverNow);
		setLive(true, 'Live · updated ' + clock(serverNow));
	}

	let timer = 0;

	async function poll() {
		try {
			const resp = await fetch('api/status', { cache: 'no-store', headers: { Accept: 'application/json' } });
			if (!resp.ok) throw new Error('HTTP ' + resp.status);
			render(await resp.json());
		} catch (e) {
			setLive(false, 'Disconnected · retrying (' + (e && e.message ? e.message : 'error') + ')');
		} finally {
			clearTimeout(timer);
			timer = setTimeout(poll, REFRESH_MS);
		}
	}

	$('keys-filter').addEventListener('input', renderKeys);
	poll();
})();
