import 'uWebSockets.js';

declare module 'uWebSockets.js' {
  interface TemplatedApp {
    /** Closes the listen socket and every open connection; present in this build, missing from its typings. */
    close(): TemplatedApp;
  }
}
