// The signaling connection's reconnects: `node --test tests/js/`.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {
    Connection, PING_INTERVAL, RETRY_FIRST, RETRY_MAX, SILENCE_LIMIT,
} from '../../src/videotermin/static/videotermin/js/protocol.js';

/** A WebSocket that records what the connection does to it. */
class FakeSocket {
    static OPEN = 1;
    static made = [];
    constructor(url) {
        this.url = url;
        this.readyState = 1;
        this.sent = [];
        this.frames = [];
        this.closedWith = null;
        FakeSocket.made.push(this);
    }
    send(data) { this.frames.push(data); this.sent.push(JSON.parse(data)); }
    close(code) { this.closedWith = code; }
}

function withFakes(t) {
    FakeSocket.made = [];
    globalThis.WebSocket = FakeSocket;
    let now = 0;
    t.mock.method(globalThis.performance, 'now', () => now);
    t.mock.timers.enable({apis: ['setInterval', 'setTimeout']});
    return {
        advance: (ms) => { now += ms; t.mock.timers.tick(ms); },
        // Time passes without the page's timers running (a throttled background tab).
        sleep: (ms) => { now += ms; },
    };
}

test('the first retry comes after about half a second and no retry waits more than five', () => {
    for (let i = 0; i < 50; i += 1) {
        const first = Connection.retryDelay(0);
        assert.ok(first >= RETRY_FIRST * 0.75 && first <= RETRY_FIRST * 1.25, String(first));
        assert.ok(Connection.retryDelay(30) <= RETRY_MAX * 1.25);
    }
    assert.ok(RETRY_MAX <= 5000);
});

test('a ping leaves as the exact frame the server answers without parsing it', (t) => {
    const {advance} = withFakes(t);
    const connection = new Connection('ws://example/ws/room/1/');
    connection.connect();
    const [socket] = FakeSocket.made;
    socket.onopen();
    socket.onmessage({data: JSON.stringify({v: 2, type: 'joined', session: '0123456789abcdef'})});
    advance(PING_INTERVAL);
    // calls/protocol.py PING_FRAME: compared as text, byte for byte.
    assert.ok(socket.frames.includes('{"v":2,"type":"ping"}'), socket.frames.join(' '));
    connection.close();
});

test('a socket silent for too long is given up and the page comes back under its session', (t) => {
    const {advance} = withFakes(t);
    const connection = new Connection('ws://example/ws/room/1/');
    const states = [];
    connection.addEventListener('state', (event) => states.push(event.detail));
    connection.connect();
    const [first] = FakeSocket.made;
    first.onopen();
    first.onmessage({data: JSON.stringify({v: 2, type: 'joined', session: '0123456789abcdef'})});
    assert.equal(connection.state, 'open');

    // The node dies without a close: pings go unanswered; within ten seconds the page knows.
    let noticed = null;
    for (let second = 1; second <= 10 && noticed === null; second += 1) {
        advance(1000);
        if (first.closedWith !== null) noticed = second;
    }
    assert.ok(noticed !== null && noticed <= 10, `noticed after ${noticed} s`);
    assert.ok(noticed > SILENCE_LIMIT / 1000, 'not before the silence limit');
    assert.equal(first.closedWith, 4000);
    assert.equal(connection.state, 'reconnecting');

    advance(RETRY_FIRST * 1.25);
    const second = FakeSocket.made[1];
    assert.ok(second, 'a new socket was opened');
    assert.equal(second.url, 'ws://example/ws/room/1/?resume=0123456789abcdef');
    assert.deepEqual(states, ['open', 'reconnecting']);
});

test('a tab whose timers run once a minute keeps its socket while the server answers', (t) => {
    const {advance, sleep} = withFakes(t);
    const connection = new Connection('ws://example/ws/room/1/');
    connection.connect();
    const [socket] = FakeSocket.made;
    socket.onopen();
    for (let minute = 0; minute < 5; minute += 1) {
        // The browser throttled the page: a minute without its timers, then one run and the
        // pong right after it.
        sleep(60000 - PING_INTERVAL);
        advance(PING_INTERVAL);
        socket.onmessage({data: JSON.stringify({v: 2, type: 'pong'})});
    }
    assert.equal(socket.closedWith, null);
    assert.equal(FakeSocket.made.length, 1);
});

test('a socket that keeps answering is kept', (t) => {
    const {advance} = withFakes(t);
    const connection = new Connection('ws://example/ws/room/1/');
    connection.connect();
    const [socket] = FakeSocket.made;
    socket.onopen();
    for (let i = 0; i < 10; i += 1) {
        advance(PING_INTERVAL);
        socket.onmessage({data: JSON.stringify({v: 2, type: 'pong'})});
    }
    assert.equal(socket.closedWith, null);
    assert.equal(FakeSocket.made.length, 1);
    assert.ok(socket.sent.filter((m) => m.type === 'ping').length >= 9);
});
