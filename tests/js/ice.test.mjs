// Fresh TURN credentials for long-open pages and long calls: `node --test tests/js/`.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {FreshIce, refreshDelayMs} from '../../src/videotermin/static/videotermin/js/ice.js';

const turn = (username) => ({urls: ['turn:127.0.0.1:3478'], username, credential: 'x'});

test('the page asks again after a third of the credentials lifetime', () => {
    assert.equal(refreshDelayMs({servers: [turn('1:a')], policy: 'all', ttl: 3600}), 1_200_000);
});

test('short lifetimes are not asked for more often than every ten seconds', () => {
    assert.equal(refreshDelayMs({servers: [turn('1:a')], policy: 'all', ttl: 6}), 10_000);
});

test('without TURN there is nothing to refresh', () => {
    assert.equal(refreshDelayMs({servers: [], policy: 'all', ttl: null}), null);
    assert.equal(refreshDelayMs(undefined), null);
});

/** A peer as mesh.js has it, recording what the keeper does to it. */
function fakePeer({offerer, state}) {
    const done = {configured: null, restarted: 0};
    const pc = {
        connectionState: state,
        getConfiguration: () => ({bundlePolicy: 'max-bundle', iceServers: []}),
        setConfiguration: (config) => { done.configured = config; },
    };
    return {done, peer: {pc, offerer, restartIce: async () => { done.restarted += 1; }}};
}

/** The signaling connection as ice.js uses it: an event target that can ask for a refresh. */
function fakeConnection() {
    const connection = Object.assign(new EventTarget(), {asked: 0});
    connection.refreshIce = () => { connection.asked += 1; };
    return connection;
}

test('fresh credentials reach running peers, and the offerer renews its relays with them', (t) => {
    t.mock.timers.enable({apis: ['setTimeout']});
    const counselorSide = fakePeer({offerer: true, state: 'connected'});
    const citizenSide = fakePeer({offerer: false, state: 'connected'});
    const connection = fakeConnection();
    const config = {iceServers: [], iceTransportPolicy: 'all'};
    const keeper = new FreshIce(connection, config,
        new Map([['a', counselorSide.peer], ['b', citizenSide.peer]]));
    const ice = {servers: [turn('200:new')], policy: 'relay', ttl: 60};

    keeper.take(ice);  // a welcome: nothing to restart
    assert.equal(counselorSide.done.restarted, 0);
    // The answer to the page's refresh.
    connection.dispatchEvent(new CustomEvent('ice', {detail: ice}));

    assert.deepEqual(config, {iceServers: ice.servers, iceTransportPolicy: 'relay'});
    for (const side of [counselorSide, citizenSide]) {
        assert.deepEqual(side.done.configured,
            {bundlePolicy: 'max-bundle', iceServers: ice.servers, iceTransportPolicy: 'relay'});
    }
    assert.equal(counselorSide.done.restarted, 1);
    assert.equal(citizenSide.done.restarted, 0);  // only the offerer restarts ICE

    t.mock.timers.tick(19_999);
    assert.equal(connection.asked, 0);
    t.mock.timers.tick(1);
    assert.equal(connection.asked, 1);
    keeper.stop();
    t.mock.timers.tick(60_000);
    assert.equal(connection.asked, 1);
});
