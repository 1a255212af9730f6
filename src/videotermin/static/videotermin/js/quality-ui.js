// The quality choice, the own connection's indicator and, for the counselor, the participants'
// live network samples. Both room pages call wireQuality once.
import {peers} from './call.js';
import {Quality, grade} from './quality.js';

/** @typedef {import('./quality.js').Mode} Mode */
/** @typedef {import('./quality.js').Grade} Grade */

const REPORT_INTERVAL = 5000;
const STORAGE_KEY = 'videotermin.quality';
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * @param {{
 *   connection: import('./protocol.js').Connection,
 *   media: import('./call.js').LocalMedia,
 *   ready: Promise<MediaStream|null>,
 *   role: 'citizen'|'counselor',
 * }} options
 */
export function wireQuality({connection, media, ready, role}) {
    const box = $('quality');
    const text = box.dataset;
    /** @type {Record<string, string>} */
    const words = {};
    for (const el of $('quality-words').content.querySelectorAll('[data-key]')) {
        words[el.dataset.key] = el.textContent.trim();
    }
    const quality = new Quality(peers);
    /** Modes the participants reported, by their session: what we send them at most. */
    /** @type {Map<string, Mode>} */
    const reported = new Map();
    let audioOnly = false;
    quality.capFor = (pc, remote) => reported.get(remote) || 'high';
    /** @type {any} */ (globalThis).videoterminQuality = quality;

    const number = (/** @type {number} */ n) =>
        n.toLocaleString(document.documentElement.lang || undefined, {maximumFractionDigits: n < 10 ? 1 : 0});
    /** @param {number|null} n @param {string} unit */
    const measured = (n, unit) => (n === null ? words.unmeasured : `${number(n)} ${unit}`);

    function reportNow() {
        if (role !== 'citizen') return;
        const network = quality.report();
        if (network) connection.send('status', {network});
        // Before the call there is no media to measure: the round trip to the server is what
        // the counselor can see live in the waiting list (sent with the pong).
        else connection.ping();
    }
    connection.onPong = (rttMs) => {
        if (role !== 'citizen' || quality.report()) return;
        const network = {rttMs: Math.min(60_000, Math.round(rttMs)), lossPct: null,
            kbpsOut: null, kbpsIn: null, mode: quality.current};
        connection.send('status', {network});
    };

    /** Audio only also tells the room that no picture comes; the camera button waits. */
    function showCamera() {
        $('toggle-camera').disabled = audioOnly || !media.has('video');
        if (role === 'citizen') connection.sendStatus(media.status());
    }
    // Every status the page sends (a toggle, a reconnect's welcome) says "no picture" while
    // audio only is on.
    const deviceStatus = media.status.bind(media);
    media.status = () => ({...deviceStatus(), camera: deviceStatus().camera && !audioOnly});

    function showSentAs() {
        $('quality-sent').textContent = quality.current === quality.chosen
            ? '' : text.msgSentAs.replace('{mode}', words[quality.current]);
    }

    // The choice outlives a reload of the page (J15), not the tab.
    const kept = sessionStorage.getItem(STORAGE_KEY);
    for (const input of box.querySelectorAll('input[name="quality-mode"]')) {
        input.addEventListener('change', () => {
            if (!input.checked) return;
            sessionStorage.setItem(STORAGE_KEY, input.value);
            quality.choose(/** @type {Mode} */ (input.value));
        });
        if (input.value === kept && kept !== 'high') input.checked = true;
    }
    quality.onMode = (mode, why) => {
        if (why !== 'chosen') {
            $('quality-announce').textContent =
                (why === 'down' ? text.msgDown : text.msgUp).replace('{mode}', words[mode]);
        }
        if (audioOnly !== (mode === 'audio')) {
            audioOnly = mode === 'audio';
            showCamera();
        }
        showSentAs();
        reportNow();
    };
    /** @type {Grade|null} */
    let shown = null;
    quality.onSample = (sample, now) => {
        box.querySelector('.quality-indicator').hidden = false;
        if (now === shown) return;
        shown = now;
        box.querySelector('.light').className = `light ${{good: 'green', fair: 'yellow', poor: 'red'}[now]}`;
        $('quality-grade').textContent = text.msgGrade.replace('{grade}', words[now]);
    };
    quality.start();
    // After controls.js has enabled the camera button for the camera it found.
    ready.then(() => {
        if (kept === 'saver' || kept === 'audio') quality.choose(kept);
    });
    if (role === 'citizen') setInterval(reportNow, REPORT_INTERVAL);

    if (role === 'counselor') {
        connection.onNetwork = (message) => {
            reported.set(message.session, message.network.mode);
            quality.applyAll().catch((e) => console.warn('quality', e));
            showNetwork(message);
        };
        setInterval(forgetGone, REPORT_INTERVAL);
    }

    /** Entries of sessions whose peer is gone (a reload, a participant who left) leave. */
    function forgetGone() {
        for (const item of [...$('network-list').children]) {
            if (!peers.has(item.dataset.session)) item.remove();
        }
        for (const session of reported.keys()) if (!peers.has(session)) reported.delete(session);
    }

    /** @param {import('./quality.js').NetworkMessage} message */
    function showNetwork(message) {
        const list = $('network-list');
        let item = list.querySelector(`[data-participant="${message.participant}"]`);
        if (!item) {
            item = $('network-template').content.firstElementChild.cloneNode(true);
            item.dataset.participant = message.participant;
            list.append(item);
        }
        const n = message.network;
        const now = grade({...n, availableKbps: null}, n.mode);
        item.dataset.session = message.session;
        item.querySelector('.name').textContent = message.name;
        item.querySelector('.light').className = `light ${{good: 'green', fair: 'yellow', poor: 'red'}[now]}`;
        item.querySelector('.grade').textContent = text.msgGrade.replace('{grade}', words[now]);
        item.querySelector('.rtt').textContent = measured(n.rttMs, 'ms');
        item.querySelector('.loss').textContent = measured(n.lossPct, '%');
        item.querySelector('.out').textContent = measured(n.kbpsOut, 'kbit/s');
        item.querySelector('.in').textContent = measured(n.kbpsIn, 'kbit/s');
        item.querySelector('.mode').textContent = words[n.mode];
    }

    // The page closed the room (ended, superseded, hung up): nothing more to choose or measure.
    const root = /** @type {HTMLElement} */ (document.getElementById('room'));
    new MutationObserver(() => {
        if (root.dataset.view !== 'over') return;
        quality.stop();
        box.hidden = true;
    }).observe(root, {attributes: true, attributeFilter: ['data-view']});
}
