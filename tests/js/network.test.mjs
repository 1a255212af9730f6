// The network check's traffic light and the counselor's summary: `node --test tests/js/`.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {networkVerdict, verdict} from '../../src/videotermin/static/videotermin/js/devices.js';
import {decimal, median, networkSummary} from '../../src/videotermin/static/videotermin/js/network.js';

const fast = {rttMs: 40, downKbps: 20000, upKbps: 5000, lossPct: 0, testCall: true};
const browser = {name: 'Chrome', version: 131, os: 'Linux', supported: true, current: true};
const devices = {
    browser, camera: true, microphone: true, micSignal: true, speaker: true,
    cameraError: null, microphoneError: null,
};

test('a fast network is green', () => {
    assert.deepEqual(networkVerdict(fast), {level: 'green', remedies: []});
});

test('a network good enough for data saver is yellow and says so', () => {
    assert.deepEqual(networkVerdict({...fast, downKbps: 500}), {level: 'yellow', remedies: ['network-slow']});
    assert.deepEqual(networkVerdict({...fast, upKbps: 200}), {level: 'yellow', remedies: ['network-slow']});
    assert.deepEqual(networkVerdict({...fast, rttMs: 450}), {level: 'yellow', remedies: ['network-unstable']});
    assert.deepEqual(networkVerdict({...fast, lossPct: 5}), {level: 'yellow', remedies: ['network-unstable']});
});

test('below data saver the network is red', () => {
    assert.equal(networkVerdict({...fast, downKbps: 299}).level, 'red');
    assert.equal(networkVerdict({...fast, upKbps: 149}).level, 'red');
    assert.equal(networkVerdict({...fast, rttMs: 1000}).level, 'red');
    assert.equal(networkVerdict({...fast, lossPct: 10}).level, 'red');
});

test('a network that could not be measured is yellow with its own remedy', () => {
    assert.deepEqual(networkVerdict({...fast, upKbps: null}), {level: 'yellow', remedies: ['network-failed']});
});

test('the network and the test call join the one traffic light', () => {
    assert.equal(verdict({...devices, network: fast}).result, 'green');
    assert.equal(verdict({...devices, network: null}).result, 'green');
    assert.deepEqual(verdict({...devices, network: {...fast, downKbps: 100}}),
        {result: 'red', remedies: ['network-too-slow']});
    assert.deepEqual(verdict({...devices, network: fast, testCallFailed: true}),
        {result: 'yellow', remedies: ['test-call-failed']});
});

test('the median of the pings ignores one slow outlier', () => {
    assert.equal(median([30, 31, 900, 29, 32]), 31);
    assert.equal(median([10, 20]), 15);
    assert.equal(median([]), null);
});

test('the counselor reads the numbers in a few words, or nothing when unmeasured', () => {
    const words = {'net-rtt': '{n} ms round trip', 'net-down': '{n} Mbit/s down',
        'net-up': '{n} Mbit/s up', 'net-loss': '{n} % lost'};
    assert.equal(networkSummary({rtt_ms: 42, down_kbps: 5230, up_kbps: 980, loss_pct: 0.5}, words),
        '42 ms round trip, 5.2 Mbit/s down, 1.0 Mbit/s up, 0.5 % lost');
    assert.equal(networkSummary({camera: true}, words), '');
    assert.equal(networkSummary(null, words), '');
});

test("numbers are written as the page's language writes them", () => {
  assert.strictEqual(decimal(5.23, 1, "de"), "5,2");
  assert.strictEqual(decimal(5.23, 1, "en"), "5.2");
  assert.strictEqual(decimal(41.6, 0, "de"), "42");
});
