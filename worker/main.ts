import { expose, transferHandlers } from 'comlink';
import { registerErrorTransfer } from '../protocol/error-transfer.ts';
import { createWorkerApi } from './api.ts';

registerErrorTransfer(transferHandlers);
expose(createWorkerApi());
