import { defineHttpFunction } from '../../shared/function/index.js';
import { subscriptionRoutes } from './routes.js';

defineHttpFunction('subscriptions', { routes: subscriptionRoutes(), audit: true });
