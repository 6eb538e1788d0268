/** Window event the F shortcut sends; the Display tab shown at the time toggles full screen. */
export const FULLSCREEN_EVENT = 'vivarium:fullscreen';
