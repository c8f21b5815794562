/**
 * Egress: the policy that decides where a worker may connect, applied
 * wherever a worker opens a connection.
 */
export { type AddressClass, classify } from './classify.ts'
export {
  EgressPolicy,
  type EgressPolicyInit,
  type EgressVerdict,
  type ResolveOptions,
} from './policy.ts'
export { type Resolver, systemResolver } from './resolve.ts'
