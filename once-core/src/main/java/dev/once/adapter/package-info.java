/**
 * What the project's HTTP adapters share: the copy of a response body kept for the store, the
 * stream that copies a body on its way to the client, and how a replay writes its headers. Not an
 * API: {@code module-info} exports it only to the adapter modules, and it may change in any
 * release.
 */
package dev.once.adapter;
