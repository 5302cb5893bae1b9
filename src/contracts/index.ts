export * from './events.js';
export * from './snapshot.js';
export * from './window.js';
export * from './ids.js';
export * from './erasure.js';
export * from './index-version.js';
