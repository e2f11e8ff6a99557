/**
 * The text forms of once's configuration: {@link dev.once.config.ConfigText}, the one grammar of
 * durations and sizes that every place reading configuration as text uses.
 */
package dev.once.config;
