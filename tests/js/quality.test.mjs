// The automatic step-down decides from samples alone: `node --test tests/js/`.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {combine, decide, encodingFor, grade, lower} from
    '../../src/videotermin/static/videotermin/js/quality.js';

const good = {rttMs: 40, lossPct: 0, kbpsOut: 900, kbpsIn: 900, availableKbps: 2000};
const fair = {...good, rttMs: 400};
const lossy = {...good, lossPct: 15};
const slow = {...good, rttMs: 1200};
const starved = {...good, availableKbps: 200};
const times = (/** @type {object} */ sample, /** @type {number} */ n) => Array(n).fill(sample);

test('a sample is graded good, fair or poor by loss, round trip and bandwidth', () => {
    assert.equal(grade(good), 'good');
    assert.equal(grade(fair), 'fair');
    assert.equal(grade({...good, lossPct: 4}), 'fair');
    assert.equal(grade(lossy), 'poor');
    assert.equal(grade(slow), 'poor');
    assert.equal(grade(starved, 'high'), 'poor');
    assert.equal(grade(starved, 'saver'), 'good', 'data saver gets by with 200 kbit/s');
    assert.equal(grade({rttMs: null, lossPct: null, kbpsOut: null, kbpsIn: null,
        availableKbps: null}), 'good', 'nothing known yet is no reason to step down');
});

test('three poor samples in a row step down one mode', () => {
    assert.equal(decide(times(lossy, 3), 'high', 'high'), 'saver');
    assert.equal(decide(times(slow, 3), 'saver', 'high'), 'audio');
});

test('two poor samples, or three with a good one between them, do not', () => {
    assert.equal(decide(times(lossy, 2), 'high', 'high'), 'high');
    assert.equal(decide([lossy, lossy, good, lossy], 'high', 'high'), 'high');
});

test('audio only is the floor', () => {
    assert.equal(decide(times(lossy, 10), 'audio', 'high'), 'audio');
});

test('ten good samples step back up one mode, nine do not', () => {
    assert.equal(decide(times(good, 10), 'audio', 'high'), 'saver');
    assert.equal(decide(times(good, 10), 'saver', 'high'), 'high');
    assert.equal(decide(times(good, 9), 'saver', 'high'), 'saver');
    assert.equal(decide([...times(good, 9), fair], 'saver', 'high'), 'saver');
});

test('the step up never goes above the mode the participant chose', () => {
    assert.equal(decide(times(good, 20), 'saver', 'saver'), 'saver');
    assert.equal(decide(times(good, 20), 'audio', 'saver'), 'saver');
    assert.equal(decide(times(good, 20), 'audio', 'audio'), 'audio');
});

test('choosing a lower mode applies at once', () => {
    assert.equal(decide([], 'high', 'audio'), 'audio');
    assert.equal(decide([good], 'high', 'saver'), 'saver');
});

test('a longer wait for the step up can be asked for', () => {
    assert.equal(decide(times(good, 10), 'saver', 'high', {upAfter: 20}), 'saver');
    assert.equal(decide(times(good, 20), 'saver', 'high', {upAfter: 20}), 'high');
});

test('lower picks the more frugal of two modes', () => {
    assert.equal(lower('high', 'saver'), 'saver');
    assert.equal(lower('audio', 'saver'), 'audio');
    assert.equal(lower('high', 'high'), 'high');
});

test('data saver scales a 640x480 camera down to 320x240 at 150 kbit/s and 15 fps', () => {
    const track = /** @type {any} */ ({getSettings: () => ({width: 640, height: 480})});
    assert.deepEqual(encodingFor('saver', track),
        {active: true, maxBitrate: 150_000, maxFramerate: 15, scaleResolutionDownBy: 2});
    const hd = /** @type {any} */ ({getSettings: () => ({width: 1280, height: 720})});
    assert.equal(encodingFor('saver', hd).scaleResolutionDownBy, 4);
    assert.deepEqual(encodingFor('audio', track), {active: false});
    assert.deepEqual(encodingFor('high', track), {active: true});
});

test('several peers combine into the worst round trip and loss and the summed rates', () => {
    const combined = combine([good, {...lossy, kbpsOut: 100, rttMs: null, availableKbps: 500}]);
    assert.deepEqual(combined,
        {rttMs: 40, lossPct: 15, kbpsOut: 1000, kbpsIn: 1800, availableKbps: 500});
    assert.equal(combine([]), null);
});
