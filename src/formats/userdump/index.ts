// Legacy full user-mode dumps (USERDU64 / USERDUMP): header, memory regions, threads, modules, debug event.
export { readUserDump } from './read-user-dump.js';
export { readUserDumpHeader, type UserDumpHeader } from './header.js';
