import { expose } from 'comlink';
import { createWorkerApi } from './api.ts';

expose(createWorkerApi());
