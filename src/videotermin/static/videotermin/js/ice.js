// ICE servers and transport policy for new peer connections (docs/protocol.md, "welcome").
// The page brings a first configuration; every welcome brings fresh TURN credentials, because
// they expire and a page may stay open for hours and reconnect.

/**
 * @typedef {{servers: RTCIceServer[], policy: 'relay'|'all'}} Ice
 */

/**
 * The configuration the page was rendered with (`data-ice-servers`, `data-ice-policy`).
 * @param {DOMStringMap} data
 * @returns {RTCConfiguration}
 */
export function pageIceConfig(data) {
    return {
        iceServers: JSON.parse(data.iceServers || '[]'),
        iceTransportPolicy: data.icePolicy === 'relay' ? 'relay' : 'all',
    };
}

/**
 * Take the welcome's ICE configuration for the peer connections created from now on.
 * @param {RTCConfiguration} config changed in place
 * @param {Ice|undefined} ice
 */
export function updateIceConfig(config, ice) {
    if (!ice) return;
    config.iceServers = ice.servers;
    config.iceTransportPolicy = ice.policy === 'relay' ? 'relay' : 'all';
}
