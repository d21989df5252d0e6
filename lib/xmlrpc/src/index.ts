// @skitai/xmlrpc: the XML-RPC codec shared by the App framework (serving) and the backend
// services (calling).
export {
  RpcFault,
  escapeXml,
  serializeValue,
  serializeParams,
  serializeMethodCall,
  parseMethodCall,
  serializeMethodResponse,
  serializeFault,
  parseMethodResponse,
  parseParams,
  type MethodCall,
} from './xmlrpc.js';
export { codes as xmlrpcCodes } from './errors.js';
